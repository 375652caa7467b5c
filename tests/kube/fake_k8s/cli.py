"""The command line: serve a FakeCluster, print one JSON line {url, token, kubeconfig, workdir}."""

import argparse
import json
import signal
import threading

from .cluster import FakeCluster


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake Kubernetes API server with a fake kubelet (tests only).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 (default): pick a free port")
    ap.add_argument("--token", default=None, help="bearer token (default: random)")
    ap.add_argument("--namespace", default="default", help="the kubeconfig context's namespace")
    ap.add_argument("--extra-namespace", action="append", default=[], help="namespace to pre-create")
    ap.add_argument("--node-label", action="append", default=None, metavar="K=V",
                    help="node label (repeatable; replaces the default kubernetes.io/hostname label)")
    ap.add_argument("--workdir", default=None, help="directory for the kubeconfig and pod logs (kept)")
    ap.add_argument("--kubeconfig-out", default=None, help="also write the kubeconfig here")
    ap.add_argument("--max-seconds", type=float, default=3600.0, help="exit after this long (default 3600)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    labels = None
    if args.node_label is not None:
        labels = dict(kv.split("=", 1) for kv in args.node_label)
    cluster = FakeCluster(host=args.host, port=args.port, token=args.token, namespace=args.namespace,
                          namespaces=args.extra_namespace, node_labels=labels, workdir=args.workdir,
                          verbose=args.verbose)
    cluster.start()
    if args.kubeconfig_out:
        with open(args.kubeconfig_out, "w") as f:
            f.write(cluster.kubeconfig_text())
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    print(json.dumps({"url": cluster.url, "token": cluster.token,
                      "kubeconfig": args.kubeconfig_out or cluster.kubeconfig,
                      "workdir": cluster.workdir}), flush=True)
    try:
        done.wait(args.max_seconds)
    finally:
        cluster.stop()
    return 0
