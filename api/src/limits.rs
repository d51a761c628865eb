//! Protection from abusive queries, as one async-graphql extension: alias count, codes on
//! parse/validation failures (depth and complexity are checked by the schema itself during
//! validation), and an execution time limit.

use crate::error::{BAD_USER_INPUT, INTERNAL};
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Variables};
use std::sync::Arc;
use std::time::Duration;

/// Limits that do not exist in async-graphql itself.
#[derive(Clone, Copy, Debug)]
pub struct QueryLimits {
    pub max_aliases: usize,
    pub timeout: Duration,
}

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

fn with_code(mut error: ServerError, code: &'static str) -> ServerError {
    let ext = error.extensions.get_or_insert_with(Default::default);
    if ext.get("code").is_none() {
        ext.set("code", code);
    }
    error
}

/// Counts aliased fields in every operation and fragment of the document.
pub fn count_aliases(doc: &ExecutableDocument) -> usize {
    fn in_set(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => {
                    usize::from(f.node.alias.is_some()) + in_set(&f.node.selection_set.node)
                }
                Selection::InlineFragment(f) => in_set(&f.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = doc
        .operations
        .iter()
        .map(|(_, op)| in_set(&op.node.selection_set.node))
        .sum();
    let fragments: usize = doc
        .fragments
        .values()
        .map(|f| in_set(&f.node.selection_set.node))
        .sum();
    operations + fragments
}

#[async_graphql::async_trait::async_trait]
impl Extension for QueryLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, BAD_USER_INPUT))?;
        let aliases = count_aliases(&doc);
        if aliases > self.max_aliases {
            return Err(with_code(
                ServerError::new(
                    format!(
                        "the query uses {aliases} aliases; at most {} are allowed",
                        self.max_aliases
                    ),
                    None,
                ),
                BAD_USER_INPUT,
            ));
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| with_code(e, BAD_USER_INPUT))
                .collect()
        })
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        match tokio::time::timeout(self.timeout, next.run(ctx, operation_name)).await {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(
                    timeout_ms = self.timeout.as_millis() as u64,
                    "query timed out"
                );
                Response::from_errors(vec![with_code(
                    ServerError::new(
                        format!(
                            "the operation did not finish within the execution time limit of {} ms; it was cancelled",
                            self.timeout.as_millis()
                        ),
                        None,
                    ),
                    INTERNAL,
                )])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_counted_in_operations_and_fragments() {
        let doc = async_graphql::parser::parse_query(
            "query { a: me { id } b: me { x: id } ...F } fragment F on Query { c: me { id } }",
        )
        .unwrap();
        assert_eq!(count_aliases(&doc), 4);
        let plain = async_graphql::parser::parse_query("{ me { id } }").unwrap();
        assert_eq!(count_aliases(&plain), 0);
    }
}
