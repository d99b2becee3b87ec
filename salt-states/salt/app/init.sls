# -*- coding: utf-8 -*-
# vim: ft=sls
# The app on a minion: registry credentials, then the deploy of the digest in pillar
# `saltpipe_deploy:digest` (given by the saltpipe runner's rollout; without it nothing is
# deployed).
---
include:
  - .deploy
