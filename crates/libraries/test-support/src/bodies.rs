//! Request bodies taken apart, for the tests of what a missing field answers.

use serde_json::Value;

/// For every field of `body` at every depth (objects' keys; an array's first element),
/// its path as the APIs name it (`customer.name`, `parcels[0].weight_grams`) and `body`
/// without it.
pub fn without_each_field(body: &Value) -> Vec<(String, Value)> {
    let mut paths = Vec::new();
    collect(body, "", &mut paths);
    paths.into_iter().filter_map(|path| remove(body, &path).map(|without| (path, without))).collect()
}

fn collect(value: &Value, prefix: &str, paths: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                paths.push(path.clone());
                collect(child, &path, paths);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                collect(first, &format!("{prefix}[0]"), paths);
            }
        }
        _ => {}
    }
}

/// `body` without the field at `path` (keys and `[0]` steps).
fn remove(body: &Value, path: &str) -> Option<Value> {
    let mut copy = body.clone();
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (Some(parent), last),
        None => (None, path),
    };
    let mut target = &mut copy;
    if let Some(parent) = parent {
        for step in parent.split('.') {
            let (key, index) = match step.split_once('[') {
                Some((key, index)) => (key, index.trim_end_matches(']').parse::<usize>().ok()),
                None => (step, None),
            };
            target = target.get_mut(key)?;
            if let Some(index) = index {
                target = target.get_mut(index)?;
            }
        }
    }
    target.as_object_mut()?.remove(last)?;
    Some(copy)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn every_field_at_every_depth_is_taken_out_once() {
        let body = json!({"a": 1, "b": {"c": 2}, "d": [{"e": 3}, {"e": 4}]});
        let all = without_each_field(&body);
        let paths: Vec<&str> = all.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(paths, ["a", "b", "b.c", "d", "d[0].e"]);
        assert_eq!(all[2].1, json!({"a": 1, "b": {}, "d": [{"e": 3}, {"e": 4}]}));
        assert_eq!(all[4].1, json!({"a": 1, "b": {"c": 2}, "d": [{}, {"e": 4}]}));
    }
}
