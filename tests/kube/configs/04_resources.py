# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# CPU and memory limits/guarantees (memory as a ByteSpecification string and as a plain int)
# and extra resources such as GPUs.
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.cpu_limit = 2
c.KubeSpawner.cpu_guarantee = 0.5
c.KubeSpawner.mem_limit = '2G'
c.KubeSpawner.mem_guarantee = 1000000000
c.KubeSpawner.extra_resource_limits = {
    'nvidia.com/gpu': '1',
    'ephemeral-storage': '10Gi',
}
c.KubeSpawner.extra_resource_guarantees = {
    'nvidia.com/gpu': '1',
    'ephemeral-storage': '1Gi',
}
