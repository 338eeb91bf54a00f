"""Output capping while reading, and the untrusting file collector."""

from __future__ import annotations

import asyncio
import os
import resource
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.runner.io.files import collect_files, disk_usage, is_image, remove_tree
from bot.runner.pool.job import OutputCapture


async def test_output_capped_while_reading() -> None:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    for fd in (out_r, err_r):
        os.set_blocking(fd, False)
    capture = OutputCapture(out_r, err_r, cap=1000)
    try:
        os.write(err_w, b"e" * 300)
        for _ in range(50):  # 50 x 10 KiB: far over the cap, and more than a pipe holds
            os.write(out_w, b"o" * 10_240)
            await asyncio.sleep(0)
        await asyncio.wait_for(capture.exceeded.wait(), 5)
        os.close(out_w)
        os.close(err_w)
        await asyncio.wait_for(capture.closed.wait(), 5)
    finally:
        capture.close()
        os.close(out_r)
        os.close(err_r)
    kept = len(capture.text(out_r)) + len(capture.text(err_r))
    assert kept == 1000
    assert capture.truncated


async def test_output_under_cap_kept_and_decoded_with_replacement() -> None:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    for fd in (out_r, err_r):
        os.set_blocking(fd, False)
    capture = OutputCapture(out_r, err_r, cap=1000)
    os.write(out_w, "héllo \xff".encode() + b"\xff\n")
    os.close(out_w)
    os.close(err_w)
    await asyncio.wait_for(capture.closed.wait(), 5)
    capture.close()
    assert capture.text(out_r) == "héllo ÿ\ufffd\n"
    assert not capture.truncated
    os.close(out_r)
    os.close(err_r)


def _collect(directory: Path, **caps: int) -> dict[str, bytes]:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return {f.name: f.data for f in collect_files(fd, **caps)}
    finally:
        os.close(fd)


def test_collector_takes_regular_files_only(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("secret")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("a")
    (out / "link").symlink_to(secret)
    (out / "dirlink").symlink_to(tmp_path)
    os.link(secret, out / "hard")  # a hard link to a file elsewhere: nlink 2
    (out / "sub").mkdir()
    (out / "sub" / "nested.txt").write_text("nested")
    os.mkfifo(out / "fifo")
    assert _collect(out) == {"a.txt": b"a"}


def test_collector_caps_count_and_sizes(tmp_path: Path) -> None:
    for i in range(8):
        (tmp_path / f"f{i}").write_bytes(b"x" * 10)
    (tmp_path / "big").write_bytes(b"y" * 100)
    assert len(_collect(tmp_path)) == 5
    assert "big" not in _collect(tmp_path, max_file_bytes=50)
    assert sum(map(len, _collect(tmp_path, max_total_bytes=35).values())) <= 35


def test_image_detection() -> None:
    assert is_image(b"\x89PNG\r\n\x1a\n...")
    assert is_image(b"\xff\xd8\xff\xe0")
    assert is_image(b"GIF89a")
    assert is_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    assert not is_image(b"hello")
    assert not is_image(b"RIFF\x00\x00\x00\x00WAVE")


@pytest.fixture
def few_fds() -> Iterator[int]:
    """Lower this process's open-file limit to 64 above what is open now, for one test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = len(os.listdir("/proc/self/fd")) + 64
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def deep_tree(root: Path, depth: int) -> None:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):  # relative to an fd: the path gets longer than PATH_MAX
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    (Path(f"/proc/self/fd/{fd}") / "leaf").write_bytes(b"x" * 5000)
    os.close(fd)


def test_deep_and_wide_trees_are_measured_and_removed_with_few_fds(
    tmp_path: Path, few_fds: int
) -> None:
    deep, wide = tmp_path / "deep", tmp_path / "wide"
    deep.mkdir()
    deep_tree(deep, 300)
    wide.mkdir()
    for i in range(300):
        (wide / f"d{i}").mkdir()
        (wide / f"d{i}" / "f").write_bytes(b"y")
    for tree, directories in ((deep, 300), (wide, 300)):
        fd = os.open(tree, os.O_RDONLY | os.O_DIRECTORY)
        try:
            used = disk_usage(fd)
        finally:
            os.close(fd)
        # Every directory and file takes at least one block; a miscount shows as too little.
        assert directories * 512 < used < 1 << 40, (tree, used)
        remove_tree(tree)
        assert not tree.exists(), tree


def test_disk_usage_counts_huge_directories_as_full(tmp_path: Path) -> None:
    for i in range(30):
        (tmp_path / str(i)).write_bytes(b"")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert disk_usage(fd, max_entries=20) >= 1 << 62
        assert disk_usage(fd, max_entries=100) < 1 << 40
    finally:
        os.close(fd)


def test_remove_tree_stops_when_a_directory_moves_out_from_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A job renames the directory being emptied to a place outside the tree (/tmp, say):
    # climbing ".." would land there, so the walk must stop instead of deleting in it.
    outside, tree = tmp_path / "outside", tmp_path / "tree"
    outside.mkdir()
    (outside / "precious").write_text("keep")
    (tree / "a" / "b").mkdir(parents=True)
    real_open = os.open

    def open_and_move(path: object, flags: int, *args: object, **kwargs: object) -> int:
        fd = real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]
        if path == "b":
            (tree / "a").rename(outside / "a")
        return fd

    monkeypatch.setattr(os, "open", open_and_move)
    remove_tree(tree)
    monkeypatch.undo()
    assert (outside / "precious").read_text() == "keep"
