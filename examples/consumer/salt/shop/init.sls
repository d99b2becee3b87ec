{#- Runs the shop's image, given by digest in pillar `shop:image` (the deploy passes it). The hosts already run Docker. #}
{%- set image = salt['pillar.get']('shop:image', '') %}
{%- if '@sha256:' not in image %}
shop-image-is-a-digest:
  test.fail_without_changes:
    - name: "pillar shop:image must be repo@sha256:<digest>, got '{{ image }}'"
{%- else %}
shop-container-running:
  cmd.run:
    - name: docker rm -f shop; docker run -d --name shop --restart unless-stopped -p 80:8080 '{{ image }}'
    - unless: docker container inspect shop | grep -qF '"Image": "{{ image }}"'
{%- endif %}
