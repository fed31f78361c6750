"""The Python `kubernetes` client's DynamicClient against fleet-apiserver: discovery finds
every kind of the group and ClusterDeployment's verbs; the cluster-scoped PriceList that `up`
installs is listed; create, get, list with a label selector, merge patch, the default
(strategic merge) patch refused with 415, delete. Prints one JSON object with what it saw.

Usage: python dynamic_crud.py KUBECONFIG
"""

import json
import sys

from kubernetes import config, dynamic
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.resource import ResourceList

API_VERSION = "fleet.k0rdent.io/v1alpha1"
NAMESPACE = "default"


def main(kubeconfig):
    client = dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig))
    out = {}
    resource = client.resources.get(api_version=API_VERSION, kind="ClusterDeployment")
    out["discovery"] = {
        "name": resource.name,
        "kind": resource.kind,
        "namespaced": resource.namespaced,
        "verbs": sorted(resource.verbs),
        "short_names": list(resource.short_names or []),
        "status_verbs": sorted(resource.subresources["status"].verbs),
    }

    # Resource objects only (search also yields each kind's ResourceList).
    out["kinds"] = [
        {
            "kind": r.kind,
            "name": r.name,
            "namespaced": r.namespaced,
            "short_names": list(r.short_names or []),
            "categories": list(r.categories or []),
            "subresources": sorted(r.subresources),
        }
        for r in client.resources.search(group="fleet.k0rdent.io")
        if not isinstance(r, ResourceList)
    ]
    out["kinds"].sort(key=lambda k: k["kind"])
    pricelists = client.resources.get(api_version=API_VERSION, kind="PriceList").get()
    out["pricelists"] = [item.metadata.name for item in pricelists.items]

    def body(name, env):
        return {
            "apiVersion": API_VERSION,
            "kind": "ClusterDeployment",
            "metadata": {"name": name, "labels": {"env": env}},
            "spec": {"template": "t1", "credential": "aws"},
        }

    created = resource.create(body=body("py-a", "prod"), namespace=NAMESPACE)
    resource.create(body=body("py-b", "dev"), namespace=NAMESPACE)
    out["created"] = {
        "name": created.metadata.name,
        "namespace": created.metadata.namespace,
        "uid": created.metadata.uid,
        "resourceVersion": created.metadata.resourceVersion,
    }

    got = resource.get(name="py-a", namespace=NAMESPACE)
    out["got"] = {"uid": got.metadata.uid, "template": got.spec.template}

    listed = resource.get(namespace=NAMESPACE, label_selector="env=prod")
    out["listed"] = {
        "kind": listed.kind,
        "names": [item.metadata.name for item in listed.items],
    }
    every = resource.get(namespace=NAMESPACE, label_selector="env in (prod,dev)")
    out["listed_in"] = sorted(item.metadata.name for item in every.items)

    patched = resource.patch(
        name="py-a",
        namespace=NAMESPACE,
        body={"spec": {"template": "t2"}, "metadata": {"labels": {"tier": "gold"}}},
        content_type="application/merge-patch+json",
    )
    out["patched"] = {
        "template": patched.spec.template,
        "labels": dict(patched.metadata.labels),
        "generation": patched.metadata.generation,
    }

    try:
        resource.patch(name="py-a", namespace=NAMESPACE, body={"spec": {"template": "t3"}})
        out["strategic"] = {"status": 200}
    except ApiException as e:
        out["strategic"] = {"status": e.status, "body": json.loads(e.body)}

    deleted = resource.delete(name="py-a", namespace=NAMESPACE)
    out["deleted"] = {"kind": deleted.kind, "status": deleted.status}
    try:
        resource.get(name="py-a", namespace=NAMESPACE)
        out["after_delete"] = 200
    except ApiException as e:
        out["after_delete"] = e.status
    remaining = resource.get(namespace=NAMESPACE)
    out["remaining"] = [item.metadata.name for item in remaining.items]

    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
