"""The generation of a minion's deploy plan (salt-states/lib/saltpipe_master/generation.py):
an HMAC of the master's file and pillar roots and the environment, keyed to this master."""

import os
import stat
import unittest

from support import master_opts

from saltpipe_master.generation import generation_of


class GenerationTest(unittest.TestCase):
    def test_the_generation_follows_every_state_and_pillar_file_and_is_keyed_to_this_master(self):
        opts, tmp = master_opts()
        first = generation_of(opts, "dev")
        self.assertRegex(first, r"^[0-9a-f]{64}$")
        key = os.path.join(opts["cachedir"], "saltpipe", "generation.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        os.makedirs(os.path.join(tmp, "states", "_modules", "__pycache__"))
        with open(os.path.join(tmp, "states", "_modules", "__pycache__", "m.cpython-311.pyc"), "wb") as fh:
            fh.write(b"compiled")
        self.assertEqual(generation_of(opts, "dev"), first, "byte-compiled caches are not configuration")
        self.assertNotEqual(generation_of(opts, "prod"), first)
        with open(os.path.join(tmp, "pillar", "app.sls"), "w", encoding="utf-8") as fh:
            fh.write("password: rotated")
        changed = generation_of(opts, "dev")
        self.assertNotEqual(changed, first)
        other, _ = master_opts()
        self.assertNotEqual(generation_of(dict(opts, cachedir=other["cachedir"]), "dev"), changed, "another master's key: another generation")
        self.assertEqual(generation_of(dict(opts, ext_pillar=[{"vault": {}}]), "dev"), "")


if __name__ == "__main__":
    unittest.main()
