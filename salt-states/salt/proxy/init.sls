# -*- coding: utf-8 -*-
# vim: ft=sls
# nginx: package -> site config (+ upstream placeholder) -> running service.
---
include:
  - .package
  - .config
  - .service
