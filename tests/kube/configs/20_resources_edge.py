# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# Fractional and small memory units, zero values (omitted), and extra_resource_* overriding the
# cpu/memory entries the dedicated traits produced.
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.cpu_limit = 0.25
c.KubeSpawner.cpu_guarantee = 0
c.KubeSpawner.mem_limit = '1.5G'
c.KubeSpawner.mem_guarantee = '750M'
c.KubeSpawner.extra_resource_limits = {'memory': '3Gi'}
c.KubeSpawner.extra_resource_guarantees = {'cpu': '100m'}
