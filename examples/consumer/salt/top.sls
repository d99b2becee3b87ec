base:
  'roles:shop':
    - match: grain
    - shop
