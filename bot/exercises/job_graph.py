"""The graph half of the grading job program: trace and execute (read as text, never imported).

`programs.py` sends `job_program.py` followed by this file as one program: the names used here
(`P`, `_enc`, `_write`, the file names…) are defined there.
"""
# mypy: ignore-errors
# ruff: noqa: F821 - defined in job_program.py, which comes first in the same program

import operator

# -- trace ------------------------------------------------------------------------------------

_CONSTANTS = {}


class _TooManyOps(Exception):
    pass


class _Unsupported(Exception):
    pass


def _skeleton(v, found, depth=0):
    """Encode `v` as _enc does, with each tensor replaced by a slot in `found`."""
    if depth > 8:
        raise _Unsupported("the result is nested too deep")
    if isinstance(v, torch.Tensor):
        found.append(v)
        return {"t": "slot", "i": len(found) - 1}
    if isinstance(v, list | tuple):
        return {"t": "list", "items": [_skeleton(x, found, depth + 1) for x in v]}
    if isinstance(v, dict) and all(type(k) is str for k in v):
        return {"t": "dict", "items": {k: _skeleton(x, found, depth + 1) for k, x in v.items()}}
    return _enc(v)


def _arg(a, index, depth=0):
    if depth > _ARG_DEPTH:
        raise _Unsupported("an argument is nested too deep")
    if isinstance(a, torch.fx.Node):
        return {"n": index[a]}
    if a is None or isinstance(a, bool | int | str):
        return a
    if isinstance(a, float):
        return {"f": repr(a)}
    if isinstance(a, list | tuple):
        return {"l": [_arg(x, index, depth + 1) for x in a]}
    for kind, cls in (
        ("dtype", torch.dtype),
        ("device", torch.device),
        ("layout", torch.layout),
        ("memory_format", torch.memory_format),
    ):
        if isinstance(a, cls):
            return {kind: str(a).removeprefix("torch.")}
    raise _Unsupported(f"an operation takes a {type(a).__name__}")


def _bookkeeping(target):
    return isinstance(target, torch._ops.OpOverload) and target.namespace == "profiler"


def _arg_or_missing(a, index):
    try:
        return _arg(a, index)
    except KeyError:
        raise _Unsupported("an operation uses the profiler's marks") from None


def _graph(gm, max_ops):
    index, nodes, outputs = {}, [], []
    inputs = 0
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            nodes.append({"op": "input", "i": inputs})
            inputs += 1
        elif node.op == "get_attr":
            value = _CONSTANTS.get(str(node.target))
            if value is None:
                value = getattr(gm, node.target)
            nodes.append({"op": "const", "value": _enc(value)})
        elif node.op == "call_function" and node.target is operator.getitem:
            # One output of an operation that returns several (max.dim, topk, split…).
            of, item = node.args
            nodes.append({"op": "item", "of": index[of], "i": item})
        elif node.op == "call_function" and _bookkeeping(node.target):
            # The profiler's record_function marks (an optimizer's step emits them): no
            # computation, and nothing of the graph's may use them.
            continue
        elif node.op == "call_function":
            if not isinstance(node.target, torch._ops.OpOverload):
                raise _Unsupported(f"{node.target} is not an ATen operation")
            args = [_arg_or_missing(a, index) for a in node.args]
            kwargs = {k: _arg_or_missing(v, index) for k, v in node.kwargs.items()}
            nodes.append({"op": "call", "target": str(node.target), "args": args, "kwargs": kwargs})
        elif node.op == "output":
            outputs = [_arg(a, index) for a in pytree.tree_leaves(node.args[0])]
            continue
        else:
            raise _Unsupported(f"a {node.op} node")
        index[node] = len(nodes) - 1
    return {"nodes": nodes, "outputs": outputs}


def trace():
    # Over 60 lines on purpose: this program is read as text and run in the job, and the
    # trace's steps share their locals; split, they would need a state passed around.
    from torch.fx.experimental import proxy_tensor
    from torch.fx.experimental.proxy_tensor import make_fx

    inputs = _load_inputs(INPUTS_IN)
    run = _harness()
    entry, load_error = _load_code(P["code"])
    load_error = load_error or _signature_error(entry, inputs)
    entry = None if load_error else entry
    doc = {"cases": [], "load_error": load_error}
    count = [0]
    tracer = proxy_tensor.PythonKeyTracer
    create_node = tracer.create_node

    def counted(self, kind, target, *args, **kwargs):
        if kind == "call_function":
            count[0] += 1
            if count[0] > P["max_ops"]:
                raise _TooManyOps
        node = create_node(self, kind, target, *args, **kwargs)
        if kind == "get_attr":
            # A tensor the trace met as a constant: its value now, before later operations
            # of the trace change it in place (a parameter that is then filled, say).
            value = self.root
            for part in str(target).split("."):
                value = getattr(value, part)
            if isinstance(value, torch.Tensor):
                _CONSTANTS[str(target)] = value.detach().clone()
        return node

    tracer.create_node = counted
    # The graph's metadata (a fake copy of every value) is not used here, and making it is
    # half the time of a trace.
    proxy_tensor.set_meta = lambda proxy, val: proxy
    for index, kwargs in enumerate(inputs):
        case = {}
        if entry is None:
            doc["cases"].append(case)
            continue
        leaves, spec, slots = _tensors(kwargs)
        shape = {}

        def traced(*tensors, leaves=leaves, spec=spec, slots=slots, index=index, shape=shape):
            items = list(leaves)
            for i, t in zip(slots, tensors, strict=True):
                items[i] = t
            found = []
            shape["skeleton"] = _skeleton(
                run(entry, pytree.tree_unflatten(items, spec), index), found
            )
            return found

        count[0] = 0
        _CONSTANTS.clear()
        torch.manual_seed(P["case_seeds"][index])
        try:
            gm = make_fx(traced, tracing_mode="real")(*[leaves[i] for i in slots])
            case["graph"] = _graph(gm, P["max_ops"])
            case["skeleton"] = shape["skeleton"]
        except _TooManyOps:
            case["ops"] = count[0]
        except _Unsupported as e:
            case["error"] = f"cannot be graded: {e}"
        except Exception as e:
            text = str(e)
            if "_local_scalar_dense" in text or "data-dependent" in text:
                case["error"] = "data-dependent"
            else:
                case["error"] = _error(e)
        doc["cases"].append(case)
    tracer.create_node = create_node
    _write(GRAPHS, doc)


# -- execute ----------------------------------------------------------------------------------


def _value(a, env):
    if isinstance(a, dict):
        if "n" in a:
            return env[a["n"]]
        if "f" in a:
            return float(a["f"])
        if "l" in a:
            return [_value(x, env) for x in a["l"]]
        if "dtype" in a:
            return getattr(torch, a["dtype"])
        if "device" in a:
            return torch.device(a["device"])
        if "layout" in a:
            return getattr(torch, a["layout"])
        if "memory_format" in a:
            return getattr(torch, a["memory_format"])
    return a


def _constant(v):
    dtype = getattr(torch, v["dtype"].removeprefix("torch."))
    if dtype.is_complex:
        real = torch.tensor(v["values"], dtype=torch.float64).reshape([*v["shape"], 2])
        return torch.view_as_complex(real).to(dtype)
    return torch.tensor(v["values"], dtype=dtype).reshape(v["shape"])


def _interpret(graph, tensors):
    env = []
    for node in graph["nodes"]:
        if node["op"] == "input":
            env.append(tensors[node["i"]])
        elif node["op"] == "const":
            env.append(_constant(node["value"]))
        elif node["op"] == "item":
            env.append(env[node["of"]][node["i"]])
        else:
            _, name, overload = node["target"].split(".")
            op = getattr(getattr(torch.ops.aten, name), overload)
            args = [_value(a, env) for a in node["args"]]
            kwargs = {k: _value(v, env) for k, v in node["kwargs"].items()}
            env.append(op(*args, **kwargs))
    return [_value(a, env) for a in graph["outputs"]]


def _fill(skeleton, outputs):
    t = skeleton.get("t")
    if t == "slot":
        return _enc(outputs[skeleton["i"]])
    if t == "list":
        return {"t": "list", "items": [_fill(x, outputs) for x in skeleton["items"]]}
    if t == "dict":
        return {"t": "dict", "items": {k: _fill(x, outputs) for k, x in skeleton["items"].items()}}
    return skeleton


def execute():
    inputs = _load_inputs(INPUTS_IN)
    with open(GRAPHS_IN, encoding="utf-8") as f:
        graphs = json.load(f)
    os.unlink(GRAPHS_IN)
    doc = {"cases": [], "load_error": None}
    for index, kwargs in enumerate(inputs):
        case = {}
        given = graphs[index] if index < len(graphs) else None
        if given is not None:
            leaves, _, slots = _tensors(kwargs)
            torch.manual_seed(P["case_seeds"][index])
            try:
                # The backward pass, if any, is in the graph as operations already.
                with torch.no_grad():
                    outputs = _interpret(given["graph"], [leaves[i] for i in slots])
                case["value"] = _fill(given["skeleton"], outputs)
                case["inputs"] = _enc(kwargs)
            except Exception as e:
                case["error"] = _error(e)
        doc["cases"].append(case)
    _write(RESULT, doc)


{"reference": reference, "values": values, "trace": trace, "execute": execute}[P["role"]]()
