# -*- coding: utf-8 -*-
# vim: ft=sls
# Reverse order of init.sls: service dead -> config absent -> package removed.
---
include:
  - .service.clean
  - .config.clean
  - .package.clean
