# -*- coding: utf-8 -*-
# vim: ft=sls
# Docker engine: package (+ upstream repo where needed) -> daemon config -> running service.
---
include:
  - .package
  - .config
  - .service
