"""``python -m tests.fuzz``: run many random programs, print what srcad did with them.

    python -m tests.fuzz --n 20000 --backend interpret --seed 1 --jobs 1
    python -m tests.fuzz --n 300 --backend compiled --seed 1 --minimize 1
    python -m tests.fuzz --n 2000 --without aug_array,alias --weights while=3

Prints the count of each outcome, the located refusals grouped by message and construct, and
the failures grouped by signature, each with a minimized program (``--minimize K`` minimizes K
programs per signature; ``--save FILE`` writes them in the format of ``regressions.py``).
"""
from __future__ import annotations

import argparse
import ast
import os
import signal
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace

from .gen import Config, generate
from .harness import BACKENDS, FAIL_CLASSES, Result, check, format_args
from .minimize import minimize, signatures


def features(source: str) -> tuple:
    """The constructs of a (minimized) program, to tell root causes apart in a report."""
    out = set()
    tree = ast.parse(source)
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if len(funcs) > 1:
        out.add("helper")
    for fn in funcs:
        for node in ast.walk(fn):
            name = type(node).__name__
            if isinstance(node, ast.AugAssign):
                out.add("aug " + ("name" if isinstance(node.target, ast.Name) else "element"))
            elif isinstance(node, ast.Assign):
                t = node.targets[0]
                if isinstance(t, ast.Subscript):
                    out.add("write")
                elif isinstance(node.value, ast.Name):
                    out.add("alias")
            elif isinstance(node, (ast.If, ast.For, ast.While, ast.Break, ast.Continue,
                                   ast.IfExp)):
                out.add(name)
            elif isinstance(node, ast.Return) and node not in fn.body:
                out.add("early return")
            elif isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Attribute):
                    out.add(f.attr)
                elif isinstance(f, ast.Name):
                    out.add(f.id if f.id in ("max", "min", "abs", "float", "len") else "call")
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
                out.add("@")
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
                out.add("**")
    return tuple(sorted(out))


def _check_range(args):
    backend, seeds, config, timeout = args
    out = []
    for seed in seeds:
        out.append(check(generate(seed, config), backend, timeout=timeout))
    return out


def run(seeds, backend: str, config: Config, jobs: int = 1, timeout: float | None = None,
        progress=None):
    """Yield the Result of every seed (in order with jobs=1, in chunks with jobs>1)."""
    if jobs <= 1:
        for seed in seeds:
            yield check(generate(seed, config), backend, timeout=timeout)
            if progress:
                progress()
        return
    import multiprocessing as mp
    seeds = list(seeds)
    chunk = 20 if backend == "interpret" else 2
    work = [(backend, seeds[i:i + chunk], config, timeout) for i in range(0, len(seeds), chunk)]
    with mp.get_context("spawn").Pool(jobs) as pool:
        for results in pool.imap(_check_range, work):
            for r in results:
                yield r
                if progress:
                    progress()


class Summary:
    def __init__(self):
        self.outcomes = Counter()
        self.arg_state = 0
        self.writes_args = 0
        self.fd_skipped = 0
        self.refusals = defaultdict(Counter)     # message -> construct -> count
        self.refusal_seeds = defaultdict(list)   # message -> a few seeds
        self.failures = defaultdict(list)        # signature -> [Result]
        self.arg_state_examples = []
        self.n = 0

    def add(self, r: Result) -> None:
        self.n += 1
        self.outcomes[r.outcome] += 1
        self.writes_args += r.writes_args
        self.fd_skipped += r.fd_skipped and r.outcome not in ("invalid", "refused")
        if r.refusal:
            construct, message, _ = r.refusal
            self.refusals[message][construct] += 1
            if len(self.refusal_seeds[message]) < 4:
                self.refusal_seeds[message].append(r.program.seed)
        if r.failed or r.outcome == "singular":
            self.failures[r.signature].append(r)
        if r.arg_state is not None:
            self.arg_state += 1
            if len(self.arg_state_examples) < 3:
                self.arg_state_examples.append(r)

    def print(self, out=sys.stdout) -> None:
        p = lambda *a: print(*a, file=out)  # noqa: E731
        p(f"\n== {self.n} programs")
        for k in ("ok", "refused") + FAIL_CLASSES + ("singular", "invalid"):
            p(f"  {k:12s} {self.outcomes.get(k, 0)}")
        p(f"  ({self.fd_skipped} compared with finite differences at no point: the two steps "
          "disagreed, a kink or a branch switch)")
        p(f"  CPython wrote into an argument array in {self.writes_args}; the argument after "
          f"srcad's primal call differs from CPython's in {self.arg_state}")
        if self.refusals:
            p("\n== located refusals by message (constructs on the named line)")
            for msg, by in sorted(self.refusals.items(), key=lambda kv: -sum(kv[1].values())):
                p(f"  {sum(by.values()):5d}  {msg}")
                p("         " + ", ".join(f"{c} {n}" for c, n in by.most_common())
                  + f"  (seeds {', '.join(map(str, self.refusal_seeds[msg]))})")
        if self.failures:
            p("\n== failures by signature (count, seeds)")
            for sig, rs in sorted(self.failures.items(), key=lambda kv: -len(kv[1])):
                seeds = ", ".join(str(r.program.seed) for r in rs[:8])
                p(f"  {len(rs):5d}  {sig}   [{seeds}{', ...' if len(rs) > 8 else ''}]")


def minimized_report(results: list, budget: float, timeout, log) -> list:
    """Minimize each result; return [(features, minimized Result, original Result)] with
    duplicates (same signature and features) dropped."""
    seen = set()
    out = []
    for r in results:
        try:
            m = _minimize_one(r, budget, timeout, log)
        except Exception as e:  # noqa: BLE001  (a report, never a crash of the whole run)
            print(f"  (minimizing seed {r.program.seed} failed: {type(e).__name__}: {e})")
            m = r
        key = (r.signature, features(m.program.source))
        if key in seen:
            continue
        seen.add(key)
        out.append((key[1], m, r))
    return out


def _minimize_one(r: Result, budget: float, timeout, log) -> Result:
    if r.backend != "compiled":
        return minimize(r, budget_s=budget, timeout=timeout, log=log)
    # the same failure in the interpreter minimizes without a Numba compile per try
    ri = check(r.program, "interpret", timeout=timeout)
    if r.signature in signatures(ri):
        m = check(minimize(ri, budget_s=budget, timeout=timeout, log=log).program,
                  "compiled", timeout=timeout)
        if r.signature in signatures(m):
            return m
    return minimize(r, budget_s=budget, timeout=timeout, log=log)


def save(found: list, path: str) -> None:
    with open(path, "w") as fh:
        fh.write("import numpy as np\n\nFOUND = [\n")
        for sig, feats, m in found:
            fh.write(f"    dict(signature={sig!r}, backend={m.backend!r}, features={feats!r},\n"
                     f"         source={m.program.source!r},\n"
                     f"         args={format_args(m.program.args)}),\n")
        fh.write("]\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="number of programs")
    ap.add_argument("--seed", type=int, default=None,
                    help="first seed (programs use seed, seed+1, ...); default: from the clock")
    ap.add_argument("--backend", choices=BACKENDS + ("both",), default="interpret")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--minimize", type=int, default=1, metavar="K",
                    help="minimize K failing programs per signature (0: none)")
    ap.add_argument("--budget", type=float, default=120.0,
                    help="seconds per minimization (compiled: one compile per try)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per program (default 60 interpret, 600 compiled)")
    ap.add_argument("--without", default="", help="constructs to turn off, comma-separated")
    ap.add_argument("--weights", default="", help="construct=weight,... overrides")
    ap.add_argument("--seeds", default="",
                    help="comma-separated seeds to run instead of --seed/--n")
    ap.add_argument("--max-stmts", type=int, default=None,
                    help="statements per program at most (default 25)")
    ap.add_argument("--save", default=None, help="write the minimized failures to this file")
    ap.add_argument("--show", type=int, default=0, metavar="SEED",
                    help="print the program of one seed and its result, then exit")
    a = ap.parse_args(argv)

    config = Config()
    if a.without:
        config = config.without(*[c.strip() for c in a.without.split(",") if c.strip()])
    if a.weights:
        config = config.with_weights(**{k: float(v) for k, v in
                                         (kv.split("=") for kv in a.weights.split(","))})
    if a.max_stmts:
        config = replace(config, max_stmts=a.max_stmts, min_stmts=min(config.min_stmts,
                                                                       a.max_stmts))
    backends = BACKENDS if a.backend == "both" else (a.backend,)
    if a.show:
        for b in backends:
            print(check(generate(a.show, config), b).report())
        return 0
    seed = a.seed if a.seed is not None else int(time.time()) % 10**6 * 1000
    print(f"seeds {seed} .. {seed + a.n - 1}, backend {a.backend}, jobs {a.jobs}, "
          f"pid {os.getpid()}", flush=True)
    found = []
    status = 0
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    for backend in backends:
        timeout = a.timeout or (60.0 if backend == "interpret" else 600.0)
        summary = Summary()
        start = time.monotonic()
        last = [start]

        def progress():
            now = time.monotonic()
            if now - last[0] > 30:
                last[0] = now
                o = summary.outcomes
                print(f"  [{backend}] {summary.n}/{a.n} programs, {now - start:.0f} s: "
                      + ", ".join(f"{k} {v}" for k, v in o.most_common()), flush=True)
        seeds = [int(x) for x in a.seeds.split(",")] if a.seeds else \
            range(seed, seed + a.n)
        try:   # Ctrl-C or SIGTERM: stop here and report what ran
            for r in run(seeds, backend, config, a.jobs, timeout, progress):
                summary.add(r)
        except KeyboardInterrupt:
            print(f"\n(stopped after {summary.n} programs)")
        print(f"\n#### backend {backend}: {time.monotonic() - start:.0f} s")
        summary.print()
        if summary.failures:
            status = 1
        if a.minimize:
            groups = dict(summary.failures)
            if summary.arg_state_examples:
                groups["arg_state:arg_state"] = summary.arg_state_examples
            print("\n== minimized failures")
            for sig, rs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
                print(f"\n--- {sig} ({len(rs)} programs)", flush=True)
                for feats, m, orig in minimized_report(rs[:a.minimize], a.budget,
                                                       timeout, None):
                    print(f"# from seed {orig.program.seed}; constructs: {', '.join(feats)}")
                    print(m.report(), flush=True)
                    found.append((sig, feats, m))
                    if a.save:
                        save(found, a.save)
    if a.save and found:
        save(found, a.save)
        print(f"\nwrote {len(found)} minimized programs to {a.save}")
    return status
