"""The Python client's DynamicClient on a built-in kind (rbac.authorization.k8s.io/v1 Role):
create, then the client's default patch (strategic merge) on labels and rules. Prints JSON.

Usage: python rbac_strategic.py KUBECONFIG
"""

import json
import sys

from kubernetes import config, dynamic


def main(kubeconfig):
    client = dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig))
    roles = client.resources.get(api_version="rbac.authorization.k8s.io/v1", kind="Role")
    body = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "py-role", "labels": {"keep": "yes"}},
        "rules": [{"apiGroups": ["fleet.k0rdent.io"], "resources": ["clusterdeployments"], "verbs": ["get"]}],
    }
    roles.create(body=body, namespace="default")
    # DynamicClient.patch defaults to application/strategic-merge-patch+json.
    patched = roles.patch(
        name="py-role",
        namespace="default",
        body={
            "metadata": {"labels": {"added": "yes"}},
            "rules": [{"apiGroups": ["fleet.k0rdent.io"], "resources": ["clusterdeployments"], "verbs": ["get", "list"]}],
        },
    )
    print(json.dumps({
        "labels": dict(patched.metadata.labels),
        "verbs": list(patched.rules[0].verbs),
        "rule_count": len(patched.rules),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
