# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# extra_pod_config (camelCase and snake_case keys; replaces whole fields, e.g. restartPolicy;
# template-expanded) and extra_container_config (replaces whole fields, e.g. resources; not expanded).
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.cpu_limit = 1
c.KubeSpawner.extra_pod_config = {
    'restartPolicy': 'Never',
    'dnsPolicy': 'None',
    'dns_config': {'nameservers': ['10.0.0.10'], 'searches': ['{username}.svc.cluster.local']},
    'hostAliases': [{'ip': '10.0.0.5', 'hostnames': ['data.internal']}],
    'termination_grace_period_seconds': 30,
    'enableServiceLinks': False,
    'subdomain': 'user-{username}',
}
c.KubeSpawner.extra_container_config = {
    'envFrom': [{'configMapRef': {'name': 'user-settings'}}],
    'resources': {'limits': {'cpu': '3'}, 'requests': {'cpu': '100m'}},
    'stdin': True,
    'termination_message_policy': 'FallbackToLogsOnError',
    'readinessProbe': {'httpGet': {'path': '/user/{username}/api', 'port': 8888}},
}
