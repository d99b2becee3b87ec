"""The Salt port of the deploy loop (salt-states/lib/saltpipe_master/port.py) over a fake
LocalClient and a fake CkMinions: which minions answer, the prepare round beside the
batches, the direct deploy where a minion's plan holds and ``state.sls`` elsewhere. Needs
Salt's Python (the port imports Salt's client modules)."""

import threading
import types
import unittest

from support import master_opts
import minion_support  # noqa: F401 (salt/_utils on sys.path: the port reads saltpipe_shared)

try:
    import salt.utils.minions
except ImportError as exc:  # a clear failure, never a skip
    raise ImportError("these tests need the Salt venv's Python: npm run setup:salt (test/salt/helpers.ts saltBin)") from exc

from saltpipe_master import port as port_mod
from saltpipe_master.generation import generation_of

A, B = ("sha256:" + ch * 64 for ch in "ab")


class _Client:
    """Answers every call with ``answers``, or call N with ``answers[N]`` when given a list."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []
        self.event = types.SimpleNamespace(cpub=False, close_pub=lambda: None)

    def cmd(self, tgt, fun, *args, **kwargs):
        self.calls.append((tgt, fun, args, kwargs))
        if isinstance(self.answers, list):
            return dict(self.answers[len(self.calls) - 1])
        return dict(self.answers)

    def run_job(self, tgt, fun, arg=(), ret="", listen=False, **kwargs):  # noqa: ARG002
        """Published now (recorded as a call); get_cli_event_returns yields its answers. An
        answer given as a whole return (``{"ret": ...}``) is returned as it is."""
        self.published = self.cmd(tgt, fun, arg, **kwargs)
        return {"jid": str(len(self.calls)), "minions": sorted(self.published)}

    def get_cli_event_returns(self, jid, minions, *args, **kwargs):  # noqa: ARG002
        for mid in minions:
            answer = self.published[mid]
            yield {mid: answer if isinstance(answer, dict) and "ret" in answer else {"ret": answer}}


class _Ck:
    def __init__(self, known, connected, grains):
        self.known, self.connected = known, connected
        self.cache = types.SimpleNamespace(fetch=lambda bank, mid: grains.get(mid) if bank == "grains" else None)

    def check_minions(self, tgt, tgt_type):
        return {"minions": list(self.known)}

    def connected_ids(self, subset=None):
        return set(self.connected) & set(subset or self.known)


class SaltPortTest(unittest.TestCase):
    TGT = "L@m1,m2,m3 and G@environment:dev and G@roles:app"

    def port(self, ck, answers, plan_only=False, opts=None):
        salt.utils.minions.CkMinions = lambda opts: ck
        port = object.__new__(port_mod.SaltPort)
        port.env, port.role, port.tgt, port.timeout = "dev", "app", self.TGT, 300
        port.opts, port.plan_only, port.client = opts or {}, plan_only, _Client(answers)
        return port

    def setUp(self):
        self.real_ck = salt.utils.minions.CkMinions

    def tearDown(self):
        salt.utils.minions.CkMinions = self.real_ck

    def test_an_unconnected_minion_is_silent_at_once_the_others_pinged_through_the_whole_target(self):
        ck = _Ck(["m1", "m2", "m3"], connected=["m1", "m2"], grains={"m3": {"ipv4": ["10.0.0.3"]}})
        port = self.port(ck, {"m1": True, "m2": True})
        self.assertEqual(port.targets(), (["m1", "m2"], ["m3"]))
        ((tgt, fun, _, kwargs),) = port.client.calls
        self.assertEqual((tgt, fun, kwargs["tgt_type"]), (f"{self.TGT} and not L@m3", "test.ping", "compound"))
        self.assertEqual(kwargs["timeout"], 5)

    def test_a_connected_minion_that_missed_the_ping_gets_one_more_of_its_own(self):
        ck = _Ck(["m1", "m2", "m3"], connected=["m1", "m2"], grains={"m3": {"ipv4": ["10.0.0.3"]}})
        port = self.port(ck, [{"m1": True, "m2": "Minion did not return. [No response]"}, {"m2": True}])
        self.assertEqual(port.targets(), (["m1", "m2"], ["m3"]))
        self.assertEqual(len(port.client.calls), 2)
        (tgt, fun, _, kwargs) = port.client.calls[1]
        self.assertEqual((tgt, fun, kwargs["tgt_type"]), (["m2"], "test.ping", "list"))

    def test_a_connected_minion_silent_twice_is_reported_silent(self):
        ck = _Ck(["m1", "m2"], connected=["m1", "m2"], grains={})
        port = self.port(ck, [{"m1": True}, {}])
        self.assertEqual(port.targets(), (["m1"], ["m2"]))

    def test_no_connection_seen_at_all_pings_every_minion(self):
        ck = _Ck(["m1", "m2"], connected=[], grains={})
        port = self.port(ck, {"m1": True, "m2": "Minion did not return"})
        self.assertEqual(port.targets(), (["m1"], ["m2"]))
        self.assertEqual(port.client.calls[0][0], self.TGT)

    @staticmethod
    def chunk(fun, sls, result, comment):
        return {"ret": {f"saltpipe_app_|-app-{sls}-saltpipe-app-{fun}_|-app_|-{fun}": {
            "result": result, "changes": {}, "comment": comment, "duration": 1}}}

    def test_a_plan_only_master_renders_every_deploy_and_prepares_nothing(self):
        deployed = self.chunk("deployed", "deploy", None, f"would deploy r/app@{B} as app-blue")
        port = self.port(_Ck([], [], {}), {"m1": deployed}, plan_only=True)
        self.assertEqual(port.prepare(["m1"], {"digest": B}), set())
        self.assertEqual(port.client.calls, [])
        self.assertTrue(port.apply(["m1"], {"digest": B})["m1"]["result"])
        self.assertEqual([c[1:3] for c in port.client.calls], [("state.sls", (["app.deploy"],))])

    def test_prepare_is_one_direct_call_where_a_plan_holds_and_the_state_elsewhere(self):
        opts, _ = master_opts()
        planned, unplanned = self.chunk("planned", "prepare", True, "planned"), self.chunk("planned", "prepare", False, "no")
        answers = [{"m1": {"result": True, "comment": "planned"}, "m2": {"saltpipe_app.no_plan": "no plan"},
                    "m3": "'saltpipe_app.prepare' is not available."}, {"m2": planned, "m3": unplanned}]
        port = self.port(_Ck([], [], {}), answers, opts=opts)
        request = {"digest": B, "event_id": "e-1", "tag": "dev-1"}
        self.assertEqual(port.prepare(["m1", "m2", "m3"], request), {"m1", "m2"})
        (tgt, fun, args, kwargs), (tgt2, fun2, args2, kwargs2) = port.client.calls
        generation = generation_of(opts, "dev")
        self.assertEqual((tgt, fun, args, kwargs["kwarg"]), (["m1", "m2", "m3"], "saltpipe_app.prepare", ([B, generation],), {"event_id": "e-1", "tag": "dev-1"}))
        self.assertEqual((tgt2, fun2, args2), (["m2", "m3"], "state.sls", (["app.prepare"],)))
        self.assertEqual(kwargs2["kwarg"]["pillar"]["saltpipe_deploy"]["generation"], generation)

    def test_the_prepare_round_runs_beside_the_batches_each_waiting_for_its_own_minions(self):
        opts, _ = master_opts()
        gate = threading.Event()
        port = self.port(_Ck([], [], {}), {"m1": {"result": True}, "m2": {"result": True}}, opts=opts)

        class SlowForM2(_Client):
            def get_cli_event_returns(self, jid, minions, *args, **kwargs):
                for returned in super().get_cli_event_returns(jid, minions, *args, **kwargs):
                    if "m2" in returned:
                        gate.wait(5)  # m2 still pulls
                    yield returned

        port.thread_client = lambda: SlowForM2({"m1": {"result": True}, "m2": {"result": True}})
        preparing = port.begin_prepare(["m1", "m2"], {"digest": B})
        self.assertTrue(preparing.wait(["m1"], timeout=2), "batch 1 starts once m1 is prepared")
        self.assertFalse(preparing.wait(["m2"], timeout=0.2), "batch 2 waits for m2's prepare")
        gate.set()
        self.assertTrue(preparing.wait(["m2"], timeout=2))
        preparing.join(2)
        self.assertEqual(preparing.planned, {"m1", "m2"})
        self.assertEqual(port.client.calls, [], "the round used its own thread's client")

    def test_a_failed_prepare_round_releases_every_batch(self):
        port = self.port(_Ck([], [], {}), {})
        port.thread_client = lambda: (_ for _ in ()).throw(RuntimeError("no client"))
        port_mod.log.disabled = True
        self.addCleanup(setattr, port_mod.log, "disabled", False)
        preparing = port.begin_prepare(["m1", "m2"], {"digest": B})
        self.assertTrue(preparing.wait(["m1", "m2"], timeout=2))
        self.assertEqual(preparing.planned, set())

    def test_a_deploy_is_one_direct_call_and_the_state_only_where_no_plan_held(self):
        opts, _ = master_opts()
        deployed = self.chunk("deployed", "deploy", True, f"app serves {B} from app-blue")
        failed = self.chunk("deployed", "deploy", False, "health check failed")
        answers = [{"m1": deployed, "m2": {"ret": {"saltpipe_app.no_plan": "no plan; nothing changed"}},
                    "m3": {"ret": "'saltpipe_app.deploy' is not available."}, "m4": failed,
                    "m5": {"ret": "Passed invalid arguments to saltpipe_app.deploy: unexpected keyword 'generation'"}},
                   {"m2": deployed, "m3": deployed, "m5": deployed}]
        port = self.port(_Ck([], [], {}), answers, opts=opts)
        out = port.apply(["m1", "m2", "m3", "m4", "m5", "m6"], {"digest": B, "tag": "dev-1", "kind": "rollback"})
        self.assertEqual({m: r["result"] for m, r in out.items()}, {"m1": True, "m2": True, "m3": True, "m4": False, "m5": True, "m6": False})
        # m6 gave no answer to the direct call: it may have switched, so it is not run again.
        self.assertEqual(out["m6"]["comment"], "no return within the timeout")
        direct, state = port.client.calls
        self.assertEqual(direct[1:3], ("saltpipe_app.deploy", ([B],)))
        self.assertEqual(direct[3]["kwarg"], {"test": False, "generation": generation_of(opts, "dev"), "event_id": "", "tag": "dev-1", "settle": True})
        self.assertEqual((state[0], state[1:3]), (["m2", "m3", "m5"], ("state.sls", (["app.deploy"],))))


if __name__ == "__main__":
    unittest.main()
