# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# uid/gid/fs_gid/supplemental_gids, privileged, allow_privilege_escalation=None (omitted), and the
# container/pod security contexts, which win over the dedicated traits (runAsUser here).
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.uid = 1000
c.KubeSpawner.gid = 100
c.KubeSpawner.fs_gid = 100
c.KubeSpawner.supplemental_gids = [100, 2000]
c.KubeSpawner.privileged = True
c.KubeSpawner.allow_privilege_escalation = None
c.KubeSpawner.container_security_context = {
    'runAsUser': 1001,
    'readOnlyRootFilesystem': True,
    'capabilities': {'drop': ['ALL'], 'add': ['NET_BIND_SERVICE']},
}
c.KubeSpawner.pod_security_context = {
    'runAsNonRoot': True,
    'fsGroupChangePolicy': 'OnRootMismatch',
    'seccompProfile': {'type': 'RuntimeDefault'},
    'supplementalGroups': [3000],
}
