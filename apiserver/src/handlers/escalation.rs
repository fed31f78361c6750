//! The writer of a request as the generic store's write guards see it (the RBAC kinds'
//! escalation check, `registry::rbac::escalation`): the request's user, asked about through
//! the server's authorizer chain.

use std::sync::Arc;

use async_trait::async_trait;
use registry::admission::Writer;
use registry::authorizer::PolicyRule;
use registry::GroupResource;

use crate::authentication::{User, MASTERS};
use crate::authorization::{Attributes, Authorizer};

/// The user of a request and the authorizer that judges it.
#[derive(Debug)]
pub(crate) struct RequestWriter {
    user: User,
    authorizer: Arc<dyn Authorizer>,
}

impl RequestWriter {
    pub(crate) fn shared(user: &User, authorizer: &Arc<dyn Authorizer>) -> Arc<dyn Writer> {
        Arc::new(RequestWriter {
            user: user.clone(),
            authorizer: authorizer.clone(),
        })
    }
}

#[async_trait]
impl Writer for RequestWriter {
    fn name(&self) -> &str {
        &self.user.name
    }

    fn groups(&self) -> &[String] {
        &self.user.groups
    }

    fn is_superuser(&self) -> bool {
        self.user.in_group(MASTERS)
    }

    async fn may(&self, verb: &str, resource: &GroupResource, name: &str, namespace: &str) -> bool {
        let attributes = Attributes {
            user: self.user.clone(),
            verb: verb.into(),
            resource_request: true,
            namespace: namespace.into(),
            api_group: resource.group.clone(),
            resource: resource.resource.clone(),
            name: name.into(),
            ..Attributes::default()
        };
        self.authorizer.authorize(&attributes).await.allowed()
    }

    fn rules_held(&self, namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        self.authorizer.rules_held(&self.user, namespace)
    }

    fn role_reference_rules(
        &self,
        kind: &str,
        name: &str,
        namespace: &str,
    ) -> Option<Result<Vec<PolicyRule>, String>> {
        self.authorizer.role_reference_rules(kind, name, namespace)
    }
}
