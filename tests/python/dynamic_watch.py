"""A DynamicClient watch against fleet-apiserver: while another thread creates, patches and
deletes a ClusterDeployment, `resource.watch(namespace=..., timeout=5)` sees ADDED, MODIFIED
and DELETED. Prints one JSON object with the events.

Usage: python dynamic_watch.py KUBECONFIG
"""

import json
import sys
import threading
import time

from kubernetes import config, dynamic

API_VERSION = "fleet.k0rdent.io/v1alpha1"
NAMESPACE = "default"


def writes(resource, errors):
    try:
        time.sleep(1)
        resource.create(
            body={
                "apiVersion": API_VERSION,
                "kind": "ClusterDeployment",
                "metadata": {"name": "py-w"},
                "spec": {"template": "t1", "credential": "aws"},
            },
            namespace=NAMESPACE,
        )
        resource.patch(
            name="py-w",
            namespace=NAMESPACE,
            body={"spec": {"template": "t2"}},
            content_type="application/merge-patch+json",
        )
        resource.delete(name="py-w", namespace=NAMESPACE)
    except Exception as e:  # reported in the output, never swallowed
        errors.append(repr(e))


def main(kubeconfig):
    client = dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig))
    resource = client.resources.get(api_version=API_VERSION, kind="ClusterDeployment")
    errors = []
    writer = threading.Thread(target=writes, args=(resource, errors))
    writer.start()
    events = []
    for event in resource.watch(namespace=NAMESPACE, timeout=5):
        obj = event["object"]
        events.append(
            {
                "type": event["type"],
                "name": obj.metadata.name,
                "template": obj.spec.template if obj.spec else None,
                "resourceVersion": obj.metadata.resourceVersion,
            }
        )
        if event["type"] == "DELETED":
            break
    writer.join()
    print(json.dumps({"events": events, "errors": errors}))


if __name__ == "__main__":
    main(sys.argv[1])
