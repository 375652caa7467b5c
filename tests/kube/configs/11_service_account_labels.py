# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# service_account with {username}, automount_service_account_token=True, templated
# extra_labels/extra_annotations, and a common_labels override (replaces the defaults; merge order
# is username label < extra_labels < common_labels < component/servername labels).
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.service_account = 'sa-{username}'
c.KubeSpawner.automount_service_account_token = True
c.KubeSpawner.extra_labels = {
    'owner': '{username}',
    'heritage': 'from-extra-labels',
    'component': 'from-extra-labels',
    'hub.jupyter.org/username': 'from-extra-labels',
}
c.KubeSpawner.extra_annotations = {
    'oxhub.test/owner': '{unescaped_username}',
    'hub.jupyter.org/kubespawner-version': 'overridden-by-extra-annotations',
}
c.KubeSpawner.common_labels = {
    'app.kubernetes.io/name': 'myhub',
    'app.kubernetes.io/managed-by': 'kubespawner',
    'heritage': 'from-common-labels',
    'team': 'data',
}
