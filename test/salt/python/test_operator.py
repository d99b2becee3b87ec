"""The saltpipe_operator engine: requests from a directory only root writes to, checked, run
as salt-run would run them, answered 0600; the loop takes requests in threads, so a long
rollback never holds a status back. Real files and the engine's own loop; fake runners."""

import contextvars
import importlib.util
import json
import os
import stat
import tempfile
import threading
import time
import unittest

ENGINE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "salt-states", "salt", "_engines", "saltpipe_operator.py")


def load_engine(**dunders):
    spec = importlib.util.spec_from_file_location("saltpipe_operator_under_test", os.path.abspath(ENGINE))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for key, value in dunders.items():
        setattr(mod, f"__{key}__", value)
    return mod


def parse_input(args, condition=False):  # noqa: ARG001
    """salt.utils.args.parse_input's split (key=value → kwargs), for Pythons without Salt."""
    pos = [a for a in args if "=" not in a]
    return pos, dict(a.split("=", 1) for a in args if "=" in a)


class OperatorEngineTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.calls = []
        self.runners = {
            "saltpipe.rollback": self.rollback,
            "saltpipe.status": lambda environment, **kw: {"result": True, "environment": environment, **kw},
        }
        self.mod = load_engine(opts={"cachedir": self.tmp}, runners=self.runners)
        self.mod.log.disabled = True  # the refusals it logs are asserted here, not printed
        self.requests, self.answers = self.mod._directory(os.path.join(self.tmp, "saltpipe", "operator"))

    def rollback(self, environment, approver="", to=None):
        self.calls.append(("rollback", environment, approver, to))
        if to == "slow":
            time.sleep(1.5)
        if to == "boom":
            raise RuntimeError("minions on fire")
        return {"result": to != "refused", "action": "rolled-back", "environment": environment}

    def write(self, request_id, request):
        """As the command does: a temporary name, then renamed (the engine sees it whole)."""
        path = os.path.join(self.requests, f"{request_id}.json")
        tmp = os.path.join(self.requests, f".{request_id}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(request if isinstance(request, str) else json.dumps(request))
        os.rename(tmp, path)
        return path

    def request(self, fun="saltpipe.rollback", args=("dev", "approver=alice@laptop"), created=None):
        return {"fun": fun, "args": list(args), "created": time.time() if created is None else created}

    def serve(self, request_id):
        taken = self.mod.take(self.requests, f"{request_id}.json")
        self.mod.serve(taken, self.answers, request_id, self.runners, parse_input, time.time())
        return self.read_answer(request_id)

    def read_answer(self, request_id):
        path = os.path.join(self.answers, f"{request_id}.json")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)

    def test_the_directories_are_root_only(self):
        for path in (os.path.dirname(self.requests), self.requests, self.answers):
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o700)

    def test_a_request_runs_the_runner_as_salt_run_would_and_is_answered(self):
        self.write("req-00000001", self.request())
        self.assertEqual(self.serve("req-00000001"), {"code": 0, "data": {"result": True, "action": "rolled-back", "environment": "dev"}})
        self.assertEqual(self.calls, [("rollback", "dev", "alice@laptop", None)])
        self.assertEqual(os.listdir(self.requests), [], "the taken request is gone")

    def test_a_refusal_exits_1_as_salt_run_does(self):
        self.write("req-00000002", self.request(args=("dev", "to=refused")))
        self.assertEqual(self.serve("req-00000002")["code"], 1)

    def test_a_runner_that_raises_is_answered_not_lost(self):
        self.write("req-00000003", self.request(args=("dev", "to=boom")))
        ans = self.serve("req-00000003")
        self.assertEqual(ans["code"], 1)
        self.assertIn("minions on fire", ans["data"]["error"])

    def test_what_the_command_may_not_ask_is_refused_and_nothing_runs(self):
        cases = {
            "req-0000000a": self.request(fun="saltpipe.receive"),
            "req-0000000b": self.request(fun="cmd.run"),
            "req-0000000c": self.request(args=["dev", 5]),
            "req-0000000d": self.request(args=["x"] * 17),
            "req-0000000e": self.request(created=time.time() - 61),
            "req-0000000f": self.request(created=time.time() + 30),
            "req-0000000g": "not json",
            "req-0000000h": "x" * (64 * 1024 + 1),
        }
        for request_id, request in cases.items():
            self.write(request_id, request)
            ans = self.serve(request_id)
            self.assertEqual(ans["code"], 1, request_id)
            self.assertIn("request refused by the master", ans["data"]["error"])
        self.assertEqual(self.calls, [])

    def test_a_link_is_not_followed(self):
        target = os.path.join(self.tmp, "elsewhere.json")
        with open(target, "w", encoding="utf-8") as fh:
            json.dump(self.request(), fh)
        os.symlink(target, os.path.join(self.requests, "req-0000link.json"))
        self.assertIn("unreadable", self.serve("req-0000link")["data"]["error"])
        self.assertEqual(self.calls, [])

    def test_a_withdrawn_request_is_never_taken(self):
        path = self.write("req-00000004", self.request())
        os.unlink(path)  # the command withdrew it (no engine answered in time)
        self.assertIsNone(self.mod.take(self.requests, "req-00000004.json"))

    def test_only_well_formed_request_names_are_pending(self):
        for name in ("req-00000005.json", "short.json", ".req-00000006.tmp", "req-00000007.taken", "../x.json"):
            if "/" not in name:
                open(os.path.join(self.requests, name), "w", encoding="utf-8").close()
        self.assertEqual(self.mod.pending(self.requests), ["req-00000005.json"])

    def test_old_leftovers_are_pruned(self):
        old = self.write("req-00000008", self.request())
        fresh = self.write("req-00000009", self.request())
        os.utime(old, (time.time() - 7200, time.time() - 7200))
        self.mod.prune(self.requests, now=time.time())
        self.assertEqual((os.path.exists(old), os.path.exists(fresh)), (False, True))

    def test_the_loop_takes_each_request_in_a_thread_of_its_own(self):
        self.mod._salt_parse_input = lambda: parse_input
        # As Salt's loader: __runners__ resolves through a context variable of the engine's
        # context (a thread that does not run in a copy of it finds nothing).
        loader = contextvars.ContextVar("loader", default=None)
        loader.set(self.runners)
        self.mod.__runners__ = type("Named", (), {"__getitem__": lambda _, key: loader.get()[key]})()
        engine = contextvars.copy_context()
        threading.Thread(target=engine.run, args=(self.mod.start,), kwargs={"poll": 0.02}, daemon=True).start()
        started = time.monotonic()
        self.write("req-0000slow", self.request(args=("dev", "to=slow")))
        time.sleep(0.1)
        self.write("req-0000stat", self.request(fun="saltpipe.status", args=("dev", "audit=0")))
        self.wait_answer("req-0000stat", started)
        self.assertLess(time.monotonic() - started, 1.0, "the status did not wait for the slow rollback")
        self.assertEqual(self.read_answer("req-0000stat")["data"], {"result": True, "environment": "dev", "audit": "0"})
        self.wait_answer("req-0000slow", started)
        self.assertEqual(self.read_answer("req-0000slow")["code"], 0)

    def wait_answer(self, request_id, started):
        while not os.path.exists(os.path.join(self.answers, f"{request_id}.json")):
            self.assertLess(time.monotonic() - started, 5, f"{request_id} answered")
            time.sleep(0.01)


if __name__ == "__main__":
    unittest.main()
