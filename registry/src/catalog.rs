//! The set of registered resources. Resources can be added at run time (schema-less kinds);
//! every change bumps a generation so that discovery documents can be cached safely.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::resource::{Resource, ResourceDefinition};
use crate::strategy::Strategy;

/// The registered resources.
#[derive(Debug, Default)]
pub struct Catalog {
    resources: RwLock<Vec<Arc<Resource>>>,
    generation: AtomicU64,
}

/// A value derived from the catalog, rebuilt when the catalog changes (discovery and OpenAPI
/// documents).
pub struct CatalogCache<T> {
    catalog: Arc<Catalog>,
    build: fn(&Catalog) -> T,
    cache: std::sync::Mutex<Option<(u64, Arc<T>)>>,
}

impl<T> CatalogCache<T> {
    pub fn new(catalog: Arc<Catalog>, build: fn(&Catalog) -> T) -> Self {
        CatalogCache {
            catalog,
            build,
            cache: std::sync::Mutex::new(None),
        }
    }

    /// The value for the catalog as it is now.
    pub fn get(&self) -> Arc<T> {
        let generation = self.catalog.generation();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match cache.as_ref() {
            Some((built_at, value)) if *built_at == generation => value.clone(),
            _ => {
                let value = Arc::new((self.build)(&self.catalog));
                *cache = Some((generation, value.clone()));
                value
            }
        }
    }
}

impl<T> std::fmt::Debug for CatalogCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogCache").finish()
    }
}

/// Registering the same group, version and plural twice.
#[derive(Debug, thiserror::Error)]
#[error("resource {plural}.{group}/{version} is already registered")]
pub struct AlreadyRegistered {
    pub group: String,
    pub version: String,
    pub plural: String,
}

impl Catalog {
    pub fn new() -> Self {
        Catalog::default()
    }

    /// Registers a resource.
    pub fn register(
        &self,
        def: ResourceDefinition,
        strategy: Arc<dyn Strategy>,
    ) -> Result<Arc<Resource>, AlreadyRegistered> {
        let mut resources = self.resources.write().unwrap_or_else(|p| p.into_inner());
        let taken = resources.iter().any(|r| {
            r.def.group == def.group && r.def.version == def.version && r.def.plural == def.plural
        });
        if taken {
            return Err(AlreadyRegistered {
                group: def.group,
                version: def.version,
                plural: def.plural,
            });
        }
        let resource = Arc::new(Resource { def, strategy });
        resources.push(resource.clone());
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(resource)
    }

    /// The resource served at `group`/`version` under `plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Resource>> {
        self.all()
            .into_iter()
            .find(|r| r.def.group == group && r.def.version == version && r.def.plural == plural)
    }

    /// Every registered resource, in registration order.
    pub fn all(&self) -> Vec<Arc<Resource>> {
        self.resources
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Changes with every registration.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The groups, each with its versions, in registration order; the core group is `""`.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for r in self.all() {
            match groups.iter_mut().find(|(g, _)| *g == r.def.group) {
                Some((_, versions)) if !versions.contains(&r.def.version) => {
                    versions.push(r.def.version.clone())
                }
                Some(_) => {}
                None => groups.push((r.def.group.clone(), vec![r.def.version.clone()])),
            }
        }
        groups
    }
}
