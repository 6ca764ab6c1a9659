//! The OpenAPI 3.1 document, built from the route table: each [`Op`] names its method, path,
//! group (which decides who may call it), parameters, and body and response types, whose JSON
//! Schemas (2020-12, as OpenAPI 3.1 uses) come from the Rust types by `schemars`.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::problem::ProblemKind;
pub use super::query::Kind;

/// Who may call an operation (the authorization tests walk every group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// No token needed.
    Public,
    /// Any signed-in user, about themselves.
    SignedIn,
    /// A household's read models: its client, its advisors, auditors, admins.
    HouseholdRead,
    /// A household's commands: its client, its advisors, admins (not auditors).
    HouseholdWrite,
    /// Market data: any signed-in user.
    Market,
    /// Users, roles, assignments, KYC review: admins.
    Admin,
    /// The whole log, verification, the security log: auditors and admins.
    Audit,
}

impl Group {
    pub fn tag(self) -> &'static str {
        match self {
            Self::Public => "auth",
            Self::SignedIn => "me",
            Self::HouseholdRead => "households (read)",
            Self::HouseholdWrite => "households (commands)",
            Self::Market => "market",
            Self::Admin => "admin",
            Self::Audit => "audit",
        }
    }
}

/// A parameter: (name, in "path" | "query" | "header", required, what its value is,
/// description). The handlers parse each kind with [`super::query`].
pub type Param = (&'static str, &'static str, bool, Kind, &'static str);

/// A schema maker for a body or response type.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

pub fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// One operation.
#[derive(Debug, Clone, Copy)]
pub struct Op {
    pub method: &'static str,
    pub path: &'static str,
    pub group: Group,
    pub summary: &'static str,
    pub description: &'static str,
    pub params: &'static [Param],
    /// The request body: its content type and schema (`None` for no body).
    pub body: Option<(&'static str, Option<SchemaFn>)>,
    /// The success status and its JSON schema (`None` for no content or a stream).
    pub response: (u16, Option<SchemaFn>),
}

impl Op {
    pub const fn new(method: &'static str, path: &'static str, group: Group, summary: &'static str) -> Self {
        Self { method, path, group, summary, description: "", params: &[], body: None, response: (200, None) }
    }
}

/// The whole document.
pub fn document(ops: &[Op]) -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
    });
    let mut g = SchemaGenerator::new(settings);
    let mut paths = Map::new();
    for op in ops {
        let mut params: Vec<Value> = op
            .params
            .iter()
            .map(|(name, place, required, kind, description)| {
                json!({ "name": name, "in": place, "required": required, "description": description, "schema": kind.schema() })
            })
            .collect();
        // Every signed-in command takes a key (the idempotency middleware).
        if op.group != Group::Public && op.method != "get" {
            params.push(json!({
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Send the same key to retry safely: the first answer is returned and nothing more is recorded (kept 24 hours).",
                "schema": { "type": "string", "maxLength": 200 }
            }));
        }
        let mut operation = json!({
            "tags": [op.group.tag()],
            "summary": op.summary,
            "operationId": format!("{}_{}", op.method, op.path.trim_start_matches('/').replace(['/', '{', '}', '-'], "_")),
            "parameters": params,
        });
        if !op.description.is_empty() {
            operation["description"] = json!(op.description);
        }
        if op.group != Group::Public {
            operation["security"] = json!([{ "bearer": [] }]);
        }
        if let Some((content_type, body)) = op.body {
            let schema = body.map_or_else(|| json!({ "type": "string" }), |f| f(&mut g).to_value());
            operation["requestBody"] = json!({ "required": true, "content": { content_type: { "schema": schema } } });
        }
        let (status, response) = op.response;
        let mut responses = Map::new();
        let ok = match response {
            Some(f) => {
                json!({ "description": "success", "content": { "application/json": { "schema": f(&mut g).to_value() } } })
            }
            None if status == 204 => json!({ "description": "no content" }),
            None => json!({ "description": "success (see the description)" }),
        };
        // A command answers 200 instead of 201 when it records nothing new (an Idempotency-Key
        // retry, or a command already in effect).
        if status == 201 {
            let mut same = ok.clone();
            same["description"] = json!("nothing new recorded (an Idempotency-Key retry, or already in effect)");
            responses.insert("200".into(), same);
        }
        responses.insert(status.to_string(), ok);
        responses.insert(
            "default".into(),
            json!({ "description": "an error (RFC 7807)", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }),
        );
        operation["responses"] = Value::Object(responses);
        let path = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        path[op.method] = operation;
    }
    let mut schemas: Map<String, Value> = g.take_definitions(true).into_iter().collect();
    schemas.insert("Problem".into(), problem_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "cairn",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "An event-sourced wealth-planning ledger. Every change is an immutable event; every query answer says the global position of the event log it reflects.",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA), 15 minutes" } },
        },
    })
}

fn problem_schema() -> Value {
    let types: Vec<String> = ProblemKind::ALL.iter().map(|k| format!("/problems/{}", k.slug())).collect();
    json!({
        "type": "object",
        "description": "RFC 7807 problem details. Extra members: field, line, current_version, retry_after.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": { "type": "string", "enum": types },
            "title": { "type": "string" },
            "status": { "type": "integer" },
            "detail": { "type": "string" },
            "field": { "type": "string" },
            "line": { "type": "integer" },
            "current_version": { "type": "integer" },
            "retry_after": { "type": "integer" },
        },
    })
}
