# oxhub-kube: {"user": "alice.smith@example.com", "server": "analysis-server-2", "user_options": {}}
# A user name that is not a valid object name gets hashed (safe scheme); with a named server the
# two are longer than 48 characters together, so {user_server} is the joint multi_slug hash.
# (oxhub's server names are always valid object names, so a server name itself is never hashed.)
# The annotations show every template field except {userid}; the labels show the label-safe slugs.
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'
c.JupyterHub.allow_named_servers = True

c.KubeSpawner.extra_annotations = {
    'oxhub.test/username': '{username}',
    'oxhub.test/servername': '{servername}',
    'oxhub.test/user-server': '{user_server}',
    'oxhub.test/unescaped': '{unescaped_username}/{unescaped_servername}',
    'oxhub.test/safe': '{safe_username}|{safe_servername}|{safe_user_server}',
    'oxhub.test/escaped': '{escaped_username}|{escaped_servername}|{escaped_user_server}',
    'oxhub.test/resolved': '{pod_name}|{pvc_name}|{namespace}|{hubnamespace}',
}
c.KubeSpawner.extra_labels = {
    'oxhub.test/user-server': '{user_server}',
}
