"""Derivations for the server run in worker processes, each under a hard time limit and a memory
limit: a worker that runs past the time limit is killed and replaced, so that a pathological input
gets a clear error and the server goes on. Workers are started with ``spawn`` (a fork of a threaded
server is unsafe) and take one request at a time."""
from __future__ import annotations

import multiprocessing
import queue
import threading

TIME_LIMIT = 10.0                 # seconds a derivation may take
MEMORY_LIMIT = 4 * 1024 ** 3      # bytes of address space a worker may use (numpy and sympy included)


def _work(conn, memory_limit: int | None):
    """A worker's loop: ``(kind, request)`` in, ``(status, body)`` out."""
    try:
        import resource
        if memory_limit:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    except (ImportError, ValueError, OSError):   # (no such limit on this platform)
        pass
    from .service import derive_response, error_response, verify_response
    handlers = {"derive": derive_response, "verify": verify_response}
    while True:
        try:
            kind, request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = (200, handlers[kind](request))
        except MemoryError:
            answer = (422, {"error": {"type": "LimitError", "position": None, "message":
                                      "the derivation needs more memory than the server allows"}})
        except Exception as err:  # noqa: BLE001  every failure becomes an error response
            answer = error_response(err)
        conn.send(answer)


class _Worker:
    def __init__(self, context, memory_limit):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_work, args=(child, memory_limit), daemon=True)
        self.process.start()
        child.close()

    def ask(self, kind: str, request, time_limit: float):
        """The answer; ``"time"`` past the time limit, ``"died"`` if the worker stopped."""
        try:
            self.conn.send((kind, request))
            if self.conn.poll(time_limit):
                return self.conn.recv()
        except (EOFError, OSError):
            return "died"
        return "time" if self.process.is_alive() else "died"

    def stop(self):
        self.process.kill()
        self.process.join()
        self.conn.close()


class WorkerPool:
    """``size`` workers; ``call(kind, request)`` runs a request on an idle one and returns
    ``(status, body)``."""

    def __init__(self, size: int = 2, time_limit: float = TIME_LIMIT, memory_limit: int | None = MEMORY_LIMIT):
        self.context = multiprocessing.get_context("spawn")
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self.idle: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.workers = [_Worker(self.context, memory_limit) for _ in range(size)]
        for worker in self.workers:
            self.idle.put(worker)

    def call(self, kind: str, request) -> tuple:
        worker = self.idle.get()
        try:
            answer = worker.ask(kind, request, self.time_limit)
            if isinstance(answer, str):   # past the limit, or dead: killed and replaced
                worker = self._replace(worker)
                message = (f"the derivation took longer than {self.time_limit:g} s (the server's limit) and was "
                           "stopped") if answer == "time" else \
                    "the derivation stopped its worker process (out of memory?); the server goes on"
                return 422, {"error": {"type": "LimitError", "position": None, "message": message}}
            return answer
        finally:
            self.idle.put(worker)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.stop()
        fresh = _Worker(self.context, self.memory_limit)
        with self.lock:
            self.workers[self.workers.index(worker)] = fresh
        return fresh

    def close(self):
        with self.lock:
            for worker in self.workers:
                worker.stop()
