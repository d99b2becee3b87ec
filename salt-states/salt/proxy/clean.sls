# -*- coding: utf-8 -*-
# vim: ft=sls
# Reverse order of init.sls.
---
include:
  - .service.clean
  - .config.clean
  - .package.clean
