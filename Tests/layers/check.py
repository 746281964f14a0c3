#!/usr/bin/env python3
"""The library's file-level dependency graph: no cycle, no upward edge.

    Tests/layers/check.py [OBJ_DIR]        (make layers; make test runs it)

Nodes are the files of CShim/ (every .c and .h) and two Swift nodes, the
engine (Sources/MapwardenEngine, one object: MapwardenEngine.o) and the
logic (MapwardenLogic.o). Edges come from two sources:

  - the built objects: for every symbol an object leaves undefined
    (nm -u) and another object defines (nm -g --defined-only), an edge from
    the file that uses it to the file that defines it (CShim/X.c for X.o);
  - the #include "..." lines of every C file and header, and the Swift
    nodes' imports: `import CShim` reaches the headers of
    CShim/include/module.modulemap, `import MapwardenLogic` the logic
    (inline functions, macros, and the logic's code that Embedded Swift
    compiles into the engine leave no symbol behind).

Every file names its layer in its first comment (` * Layer: platform`).
From the top: hooks (3), engine (2), logic and platform (1, side by side,
neither may use the other), api (0, the public header's structures). An
edge may go down, or stay inside one layer; within a layer the graph must
still be acyclic. Prints the graph, then every upward edge and every cycle;
exits 1 if there is any (or a file without a layer). Before that it checks
itself on a made-up graph with one of each fault.
"""
import os
import re
import subprocess
import sys

RANK = {"hooks": 3, "engine": 2, "logic": 1, "platform": 1, "api": 0}
ENGINE, LOGIC = "engine", "logic"
SWIFT_NODES = {ENGINE: ("MapwardenEngine.o", "Sources/MapwardenEngine"),
               LOGIC: ("MapwardenLogic.o", "Sources/MapwardenLogic")}
LAYER_LINE = re.compile(r"^\s*\*\s*Layer:\s*(\w+)")
INCLUDE_LINE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def layer_of(path):
    """The layer named in the file's first comment, or None."""
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i > 60:
                break
            m = LAYER_LINE.match(line)
            if m:
                return m.group(1)
    return None


def symbols(obj):
    """(defined global symbols, undefined symbols) of an object file."""
    def nm(*args):
        out = subprocess.run(["nm", *args, obj], check=True, capture_output=True, text=True).stdout
        return {line.split()[-1] for line in out.splitlines() if line.strip()}
    return nm("-g", "--defined-only"), nm("-u")


def violations(layers, edges):
    """Upward (or sideways) edges and cycles of a graph.

    layers: {node: layer}; edges: {(from, to): [why, ...]}.
    Returns (list of (from, to, whys), list of cycles as node lists)."""
    up = []
    for (a, b), whys in sorted(edges.items()):
        la, lb = layers[a], layers[b]
        if la != lb and RANK[la] <= RANK[lb]:
            up.append((a, b, whys))
    # Tarjan's strongly connected components: each one with more than one
    # node holds a cycle; a path through it is printed.
    succ = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    index, low, stack, on, sccs = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(succ.get(v, [])):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1 or (v, v) in edges:
                sccs.append(scc)

    for v in sorted(layers):
        if v not in index:
            visit(v)
    cycles = []
    for scc in sccs:
        members = set(scc)
        start = min(scc)
        path, seen, v = [start], {start}, start
        while True:  # walk inside the component until a node repeats
            v = min(w for w in succ[v] if w in members)
            if v in seen:
                cycles.append(path[path.index(v):] + [v])
                break
            path.append(v)
            seen.add(v)
    return up, cycles


def self_test():
    layers = {"h.c": "hooks", ENGINE: "engine", LOGIC: "logic", "p.c": "platform",
              "q.c": "platform", "p.h": "platform", "api.h": "api"}
    good = {("h.c", ENGINE): ["f"], (ENGINE, LOGIC): ["g"], (ENGINE, "p.h"): ["#include"],
            ("p.c", "q.c"): ["h"], ("h.c", "api.h"): ["#include"]}
    assert violations(layers, good) == ([], []), "self-test: a good graph was refused"
    def faults(extra):
        up, cycles = violations(layers, {**good, **extra})
        return {(a, b) for a, b, _ in up}, [set(c) for c in cycles]
    up, _ = faults({("p.c", ENGINE): ["mw_engine_forked"]})  # the platform calls up
    assert up == {("p.c", ENGINE)}, "self-test: an upward call was missed"
    up, _ = faults({(LOGIC, "p.c"): ["mw_lock"]})  # the logic uses the platform
    assert up == {(LOGIC, "p.c")}, "self-test: a sideways call was missed"
    up, cycles = faults({("q.c", "p.c"): ["i"]})  # p.c <-> q.c, same layer
    assert up == set() and cycles == [{"p.c", "q.c"}], "self-test: a cycle was missed"


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    obj_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build", "obj"))
    os.chdir(root)
    self_test()
    failures = []

    files = []
    for d, _, names in os.walk("CShim"):
        files += [os.path.join(d, n) for n in names if n.endswith((".c", ".h"))]
    files.sort()
    layers = {ENGINE: "engine", LOGIC: "logic"}
    for f in files:
        layer = layer_of(f)
        if layer not in RANK:
            failures.append(f"{f}: no ` * Layer: NAME` line in its first comment (NAME: {', '.join(RANK)})"
                            if layer is None else f"{f}: unknown layer {layer!r}")
            layer = "hooks"  # (checked as the top layer meanwhile)
        layers[f] = layer

    edges = {}

    def edge(a, b, why):
        if a != b:
            edges.setdefault((a, b), []).append(why)

    # Symbols: who uses what another object defines.
    objects = {f: os.path.join(obj_dir, os.path.basename(f)[:-2] + ".o") for f in files if f.endswith(".c")}
    for node, (obj, _) in SWIFT_NODES.items():
        objects[node] = os.path.join(obj_dir, obj)
    missing = [o for o in objects.values() if not os.path.exists(o)]
    if missing:
        sys.exit("layers: missing objects (run make lib): " + " ".join(missing))
    defined, undefined = {}, {}
    for node, obj in objects.items():
        defined[node], undefined[node] = symbols(obj)
    for a in objects:
        for s in sorted(undefined[a]):
            for b in objects:
                if b != a and s in defined[b]:
                    edge(a, b, s)

    # Includes: headers' inline functions and macros leave no symbol.
    def resolve(f, name):
        for base in (os.path.dirname(f), "CShim/include"):
            p = os.path.normpath(os.path.join(base, name))
            if os.path.exists(p):
                return p
        failures.append(f"{f}: #include \"{name}\" not found")
        return None

    for f in files:
        with open(f, encoding="utf-8") as src:
            for line in src:
                m = INCLUDE_LINE.match(line)
                if m and (p := resolve(f, m.group(1))):
                    edge(f, p, "#include")
    module = [os.path.normpath(os.path.join("CShim/include", h)) for h in
              re.findall(r'header\s+"([^"]+)"', open("CShim/include/module.modulemap", encoding="utf-8").read())]
    # Swift imports: CShim brings the module map's headers; Embedded Swift
    # compiles the logic's code into the engine, so `import MapwardenLogic`
    # is that edge's only trace.
    modules = {"MapwardenEngine": ENGINE, "MapwardenLogic": LOGIC}
    for node, (_, src_dir) in SWIFT_NODES.items():
        imported = set()
        for n in sorted(os.listdir(src_dir)):
            if n.endswith(".swift"):
                with open(os.path.join(src_dir, n), encoding="utf-8") as src:
                    imported |= set(re.findall(r"^\s*import\s+(\w+)", src.read(), re.M))
        if "CShim" in imported:
            for h in module:
                edge(node, h, "import CShim")
        for name, other in modules.items():
            if name in imported:
                edge(node, other, "import " + name)

    # The graph, layer by layer (symbols named, at most four per edge).
    print("layers: the file-level graph of CShim/ and the Swift engine and logic")
    for layer in sorted(RANK, key=lambda l: -RANK[l]):
        members = sorted(n for n in layers if layers[n] == layer)
        print(f"  {layer} ({RANK[layer]}): {' '.join(members)}")
    print("edges (from -> to: symbols used, or #include):")
    for (a, b), whys in sorted(edges.items()):
        names = sorted(set(whys))
        shown = ", ".join(names[:4]) + (f" (+{len(names) - 4})" if len(names) > 4 else "")
        print(f"  {a} [{layers[a]}] -> {b} [{layers[b]}]: {shown}")

    up, cycles = violations(layers, edges)
    for a, b, whys in up:
        failures.append(f"upward edge: {a} [{layers[a]}] -> {b} [{layers[b]}]: {', '.join(sorted(set(whys)))}")
    for c in cycles:
        failures.append("cycle: " + " -> ".join(c))
    print(f"layers: {len(layers)} files, {len(edges)} edges, {len(up)} upward, {len(cycles)} cycles")
    if failures:
        for f in failures:
            print("FAIL " + f)
        sys.exit(1)
    print("layers: ok (no cycle, no upward edge)")


if __name__ == "__main__":
    main()
