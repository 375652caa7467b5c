# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# enable_user_namespaces with a custom user_namespace_template: the explicit namespace is ignored,
# and {hubnamespace} is the hub's own namespace ('default' -> 'user'), not c.KubeSpawner.namespace.
# The namespace labels/annotations only appear on the Namespace object ("namespace_manifest").
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.namespace = 'ignored-with-user-namespaces'
c.KubeSpawner.enable_user_namespaces = True
c.KubeSpawner.user_namespace_template = 'hub-{hubnamespace}-{username}'
c.KubeSpawner.user_namespace_labels = {'owner': '{username}', 'purpose': 'jupyter'}
c.KubeSpawner.user_namespace_annotations = {'oxhub.test/owner': '{unescaped_username}'}
c.KubeSpawner.extra_annotations = {'oxhub.test/namespace': '{namespace}|{hubnamespace}'}
