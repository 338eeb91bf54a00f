"""Ship the top-level db/ and content/ folders inside the package, as bot/_data/db and content.

They stay at the top of the repository (where people edit them); in a wheel (and in an editable
install, through setuptools' path mapping) they are the packages bot._data.db and
bot._data.content, found with importlib.resources.
"""

from setuptools import find_packages, setup

DATA = {"bot._data.db": "db", "bot._data.content": "content"}

setup(
    packages=[*find_packages(include=["bot*"]), *DATA],
    package_dir=DATA,
    package_data={
        "bot": ["locales/*/LC_MESSAGES/*.po", "py.typed"],
        "bot._data.db": ["*.sql"],
        "bot._data.content": ["*.yaml", "*.md", "*.txt", "questions/*.yaml", "exercises/*.yaml"],
    },
)
