"""Fuzz campaigns: cases run in a worker process with a time and a memory budget, failures grouped
into classes, shrunk, and reported with a one-line reproducer each.

The worker is one Python process (``python -m matcalc.fuzz_sandbox``, one at a time, so a
campaign uses one core besides its parent). It bounds its address space (``RLIMIT_AS``: what it uses after importing its
libraries, plus ``memory_mb``), so an allocation past the budget raises ``MemoryError`` (outcome
``memory``). The parent waits ``timeout`` seconds for each case; past that the case is a ``hang``
and the worker is killed and replaced. A worker that dies otherwise (a segfault) is a ``crash``.

A failure class is the outcome, the error and where it happened (``Result.signature``). The first
case of each class is shrunk — subtrees replaced by one of their operands, long sums and products
halved, unused variables dropped, the task made a plain gradient — while the failure stays in its
class, within a time budget.
"""
from __future__ import annotations

import importlib
import os
import pickle
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace

from .fuzz_grammar import Case, Slot, call, constructor, leaf, python_source, replaced, slots_used, subtrees
from .fuzz_oracle import FAILURES, OUTCOMES, Result, run_case


class Sandbox:
    """A worker process (``python -m matcalc.fuzz_sandbox``) that runs cases under a time and a
    memory budget; cases and results travel pickled through its stdin and stdout. Shortly before
    a case's time is up, the worker writes its stack to a file (``faulthandler``), so a hang is
    reported with the place where it hung."""

    def __init__(self, timeout: float = 10.0, memory_mb: int = 2048, backends: tuple = ()):
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.backends = ("numpy",) + tuple(b for b in backends if b != "numpy")
        self.process = None
        self.stacks = None   # the file the worker writes its stack to

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        handle, self.stacks = tempfile.mkstemp(prefix="matcalc-fuzz-", suffix=".stack")
        os.close(handle)
        self.process = subprocess.Popen([sys.executable, "-m", "matcalc.fuzz_sandbox", str(self.memory_mb),
                                         self.stacks, *self.backends], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        if _receive(self.process.stdout, 300) != "ready":
            self.stop()
            raise RuntimeError("the fuzz worker did not start")

    def stop(self):
        """Kill the worker (only this sandbox's own process)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process.stdin.close()
            self.process.stdout.close()
            os.unlink(self.stacks)
        self.process = None

    def close(self):
        self.stop()   # the worker keeps no state worth a graceful exit

    def run(self, case: Case) -> Result:
        if self.process is None:
            self.start()
        start = time.perf_counter()
        try:
            _send(self.process.stdin, (case, self.timeout))
            result = _receive(self.process.stdout, self.timeout)
        except EOFError:   # the worker died
            code = self.process.wait()
            self.stop()
            outcome = "memory" if code in (-signal.SIGKILL, OUT_OF_MEMORY) else "crash"
            return Result(outcome, "run", "worker died", f"the worker exited with status {code}", "",
                          time.perf_counter() - start)
        if result is _TIMEOUT:
            with open(self.stacks) as stacks:
                where, innermost = hang_location(stacks.read())
            self.stop()
            return Result("hang", case.task, "timeout", f"no result after {self.timeout:g} s" +
                          (f"; it was in {innermost}" if innermost else ""), where, time.perf_counter() - start)
        if result.outcome == "memory":
            self.stop()   # a fresh worker after a MemoryError
        return result


def hang_location(stack: str) -> tuple:
    """From a ``faulthandler`` dump: ``(what was running, where it was)`` — the outermost function
    of matcalc past the entry points' guard (``within matcalc/verify.py (verify)``), which makes
    the class of a hang, and the innermost (``matcalc/printing/text.py:57 (superscript)``)."""
    frames = re.findall(r'File "([^"]+)", line (\d+) in (\S+)', stack)
    ours = [(f"matcalc/{name.rsplit('/matcalc/', 1)[1]}", line, function) for name, line, function in frames
            if "/matcalc/" in name and "/matcalc/fuzz" not in name and not name.endswith("/matcalc/limits.py")]
    if not ours:
        return "", ""
    (inner, line, function), (outer, _, outer_function) = ours[0], ours[-1]
    return f"within {outer} ({outer_function})", f"{inner}:{line} ({function})"


_TIMEOUT = object()
OUT_OF_MEMORY = 3   # the worker's exit status when it cannot even report a MemoryError


def _send(stream, obj):
    data = pickle.dumps(obj)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream, timeout: float):
    """The next object from ``stream``, ``_TIMEOUT`` if none starts within ``timeout`` seconds;
    ``EOFError`` if the stream ends."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        return _TIMEOUT
    size = struct.unpack("<Q", _read(stream, 8))[0]
    return pickle.loads(_read(stream, size))


def _read(stream, size: int) -> bytes:
    chunks = []
    while size:
        chunk = stream.read1(size) if hasattr(stream, "read1") else stream.read(size)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def serve(memory_mb: int, stacks: str, backends: tuple):
    """The worker: run each case received on stdin and send its ``Result`` on stdout, until stdin
    ends; near a case's time limit, dump the stack to the file ``stacks``. Whatever the code prints
    goes to stderr, not into the results."""
    import faulthandler
    import resource
    import threading
    import warnings
    warnings.simplefilter("ignore")
    threading.stack_size(2**20)   # faulthandler's watchdog thread, within small memory budgets too
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    cases = sys.stdin.buffer
    # what the cases use is imported before the memory budget is set
    run_case(Case(0, text="sum(sigmoid(A @ x)) + logdet(A)", wrt="x", backends=backends,
                  slots=(Slot("A", "M", "n,n"), Slot("x", "v", "n"))))
    importlib.import_module("matcalc.verify")
    with open("/proc/self/status") as status:
        used = int(re.search(r"VmSize:\s+(\d+)", status.read()).group(1)) * 1024
    limit = used + memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    dump = open(stacks, "w")   # noqa: SIM115 - open for the worker's lifetime
    _send(results, "ready")
    while True:
        try:
            case, timeout = _receive(cases, None)
        except EOFError:   # the parent is gone
            return
        dump.seek(0)
        dump.truncate()
        faulthandler.dump_traceback_later(0.9 * timeout, file=dump)
        try:
            result = run_case(case)
        except MemoryError:   # outside the case's own handling (pickling, the oracles' arrays)
            result = None
        faulthandler.cancel_dump_traceback_later()
        try:
            _send(results, result if result is not None else Result("memory", "run", "MemoryError", "in the worker"))
        except MemoryError:
            os._exit(OUT_OF_MEMORY)


# ---------------------------------------------------------------------------------------
# Campaigns
# ---------------------------------------------------------------------------------------

@dataclass
class FailureClass:
    """The failures with one signature: the cases (seed, result), and the shrunk first one."""
    first: Case
    result: Result
    seeds: list = field(default_factory=list)
    shrunk: Case | None = None
    shrunk_result: Result | None = None


@dataclass
class Summary:
    counts: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    classes: dict = field(default_factory=dict)
    slowest: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> int:
        return sum(self.counts[k] for k in FAILURES)

    def line(self) -> str:
        names = {"crash": "crashes", "hang": "hangs", "wrong": "wrong", "memory": "memory"}
        parts = [f"{names.get(k, k)} {self.counts[k]}" for k in OUTCOMES]
        return f"cases {sum(self.counts.values())}, " + ", ".join(parts)


def campaign(cases, run, shrink_seconds: float = 0.0, progress=None) -> Summary:
    """Run ``cases`` (an iterable of ``Case``) with ``run`` (``Sandbox.run`` or ``run_case``)."""
    summary = Summary()
    start = time.perf_counter()
    for count, case in enumerate(cases, 1):
        result = run(case)
        summary.counts[result.outcome] += 1
        if progress and count % 1000 == 0:
            progress(f"after {count} cases ({time.perf_counter() - start:.0f} s): {summary.line()}")
        if result.outcome == "rejected":
            summary.rejected[result.error] += 1
        summary.slowest = sorted(summary.slowest + [(result.seconds, case.seed)], reverse=True)[:3]
        if result.failed:
            key = result.signature()
            if key not in summary.classes:
                summary.classes[key] = FailureClass(case, result)
                if progress:
                    progress(f"new failure class: seed {case.seed}: {result}")
            summary.classes[key].seeds.append(case.seed)
    if shrink_seconds > 0:
        for failure in summary.classes.values():
            failure.shrunk, failure.shrunk_result = shrink(failure.first, failure.result, run, shrink_seconds)
    summary.seconds = time.perf_counter() - start
    return summary


def same_failure(a: Result, b: Result) -> bool:
    if a.outcome != b.outcome or a.error != b.error:
        return False
    return a.outcome != "crash" or a.location.split(":")[0] == b.location.split(":")[0]   # the same file


def shrink(case: Case, result: Result, run, seconds: float) -> tuple:
    """A smaller case that fails the same way (see the module docstring), within ``seconds``."""
    deadline = time.perf_counter() + seconds
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for candidate in _candidates(case, result):
            if time.perf_counter() > deadline:
                break
            attempt = run(candidate)
            if same_failure(attempt, result):
                case, result, improved = candidate, attempt, True
                break
    return case, result


def _candidates(case: Case, result: Result):
    if case.task != "gradient":
        yield replace(case, task="gradient", direction=None)
    if len(case.backends) > 1 and not any(b in result.phase for b in case.backends[1:]):
        yield replace(case, backends=("numpy",))
    if case.tree is None:
        return
    pruned = _pruned(case)
    if pruned is not None:
        yield pruned
    for t in subtrees(case.tree):
        op, payload, kids = t
        if op == "program":   # the first stages, the last of them summed
            for keep in sorted({1, len(payload) // 4, len(payload) // 2, len(payload) - 2}):
                if 0 < keep < len(payload) - 1:
                    final = (payload[-1][0], call("sum", leaf("stage", payload[keep - 1][0])))
                    yield case.with_tree((op, payload[:keep] + (final,), kids))
            continue
        if op in ("sum", "prod") and len(kids) > 2:
            half = len(kids) // 2
            yield case.with_tree(replaced(case.tree, t, (op, payload, kids[:half])))
            yield case.with_tree(replaced(case.tree, t, (op, payload, kids[half:])))
        for k in kids:
            yield case.with_tree(replaced(case.tree, t, k))


def _pruned(case: Case):
    """The case without the variables its tree does not use (``None`` if it uses them all)."""
    keep = set(slots_used(case.tree)) | {i for i in (case.direction,) if i is not None}
    if case.source == "api" and case.wrt is not None:
        keep.add(case.wrt)
    if len(keep) == len(case.slots):
        return None
    order = sorted(keep)
    index = {old: new for new, old in enumerate(order)}

    memo: dict = {}

    def go(t):   # keeps shared subtrees shared
        if id(t) not in memo:
            op, payload, kids = t
            if op == "var":
                memo[id(t)] = (op, index[payload], kids)
            elif op == "program":
                memo[id(t)] = (op, tuple((n, go(line)) for n, line in payload), kids)
            else:
                memo[id(t)] = (op, payload, tuple(go(k) for k in kids))
        return memo[id(t)]
    return replace(case, tree=go(case.tree), slots=tuple(case.slots[i] for i in order),
                   wrt=index[case.wrt] if case.source == "api" and case.wrt is not None else case.wrt,
                   direction=index[case.direction] if case.direction is not None else None)


# ---------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------

MAX_REPRODUCER = 600


def reproducer(case: Case, result: Result) -> str:
    """One line: the call that fails, and how."""
    invocation = _call(case, result.wrt)
    if len(invocation) > MAX_REPRODUCER:
        invocation = invocation[:MAX_REPRODUCER] + f"… ({len(invocation)} characters)"
    where = result.phase
    if where.startswith("evaluate"):
        where += f" (inputs drawn with seed {case.seed % 2**32})"
    location = f" [{result.location}]" if result.location else ""
    return f"{invocation}  ->  {where}: {result.error}: {result.message}{location}"


def _call(case: Case, resolved: str) -> str:
    backends = f"  # backends {', '.join(case.backends)}" if len(case.backends) > 1 else ""
    if case.source == "api":
        setup = python_source(case)
        wrt = f"v{case.wrt}" if case.wrt is not None else "'x'"
        f, shapes, extra = "f", "", ""
    else:
        setup = ""
        text = case.string()
        wrt = ascii(case.wrt if case.wrt is not None else resolved or "x")
        shapes = _shapes_text(case)
        f = repr(text)
        extra = f", syntax={case.syntax!r}" if case.syntax != "numpy" else ""
    args = f"{f}, {wrt}" + (f", {shapes}" if shapes else "")
    if case.task == "hvp":
        direction = f"v{case.direction}" if case.source == "api" else repr(case.slots[case.direction].name)
        invocation = f"mc.hvp({f}, {wrt}, {direction}" + (f", {shapes}" if shapes else "") + f"{extra})"
    elif case.task == "hessian":
        invocation = f"mc.derive({args}, order=2{extra})"
    elif case.task in ("verify", "verify-wrong"):
        claim = f"mc.derive({args}{extra}).expr" + (" made wrong" if case.task == "verify-wrong" else "")
        invocation = f"mc.verify({args}, claimed={claim}{extra})"
    else:
        invocation = f"mc.derive({args}{extra})"
    return (f"{setup}; {invocation}" if setup else invocation) + backends


def _shapes_text(case: Case) -> str:
    parts = [f"{ascii(s.name)}: {constructor(s) if s.props else ascii(s.dims)}"
             for s in case.slots if s.dims is not None]
    return "{" + ", ".join(parts) + "}" if parts else ""


def report(summary: Summary, title: str) -> str:
    lines = [title, f"{summary.line()} — in {summary.seconds:.0f} s"]
    if summary.rejected:
        lines.append("rejected by: " + ", ".join(f"{k} {v}" for k, v in summary.rejected.most_common()))
    if summary.slowest:
        lines.append("slowest: " + ", ".join(f"seed {seed} {sec:.2f} s" for sec, seed in summary.slowest))
    lines.append(f"failure classes: {len(summary.classes)}")
    for i, failure in enumerate(summary.classes.values(), 1):
        r = failure.result
        seeds = ", ".join(map(str, failure.seeds[:8])) + (" …" if len(failure.seeds) > 8 else "")
        lines.append(f"[{i}] {r.outcome} {r.error} ({r.location or r.phase}): {len(failure.seeds)} case(s), "
                     f"seeds {seeds}")
        lines.append(f"    seed {failure.first.seed} (replay: --seed {failure.first.seed} --n 1): "
                     f"{reproducer(failure.first, r)}")
        if failure.shrunk is not None and failure.shrunk is not failure.first:
            lines.append(f"    shrunk: {reproducer(failure.shrunk, failure.shrunk_result)}")
    return "\n".join(lines)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], tuple(sys.argv[3:]))
