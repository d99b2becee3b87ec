"""The checks of a deploy's values (_utils/saltpipe_validate.py)."""

import unittest

from minion_support import IMAGE, A

from saltpipe_validate import deploy_errors


class ValidateTest(unittest.TestCase):
    def test_a_bad_pid_file_is_refused_by_name_before_anything_runs(self):
        for bad in (5, "run/nginx.pid"):
            errors = deploy_errors("app", IMAGE, A, 8080, "/healthz", {"blue": 1, "green": 2}, "127.0.0.1", {}, {}, bad)
            self.assertEqual(len(errors), 1, errors)
            self.assertIn(f"invalid nginx_pid_file {bad!r}", errors[0])
        self.assertEqual(deploy_errors("app", IMAGE, A, 8080, "/healthz", {"blue": 1, "green": 2}, "127.0.0.1", {}, {}, ""), [])


if __name__ == "__main__":
    unittest.main()
