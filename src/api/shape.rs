//! What a successful answer must look like before anything reads it. A 200 whose body is
//! not JSON, is empty, or lacks what the API promises (a page without its `results` array)
//! is a failure of that call — classified `transient` and retried like a 5xx — never an empty
//! success: an empty page read as "nothing changed" would move a sync's cursor past records
//! it never saw.

use serde_json::Value;

/// Checks a parsed answer; `Err` says what is missing.
pub type Shape = fn(&Value) -> Result<(), String>;

/// Any JSON, or no body at all (a 204).
pub fn any(_: &Value) -> Result<(), String> {
    Ok(())
}

/// A JSON object (not an empty body).
pub fn object(v: &Value) -> Result<(), String> {
    if v.is_object() {
        Ok(())
    } else {
        Err(format!("a JSON object was expected, got {}", kind(v)))
    }
}

/// A JSON array (Salesforce Collections).
pub fn array(v: &Value) -> Result<(), String> {
    if v.is_array() {
        Ok(())
    } else {
        Err(format!("a JSON array was expected, got {}", kind(v)))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "an empty body",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `key` holds an array.
pub fn array_at(v: &Value, key: &str) -> Result<(), String> {
    object(v)?;
    if v[key].is_array() {
        Ok(())
    } else {
        Err(format!("no `{key}` array (got {})", kind(&v[key])))
    }
}

/// `key`, if present, holds a value of the kind `check` accepts.
pub fn optional(v: &Value, key: &str, check: fn(&Value) -> bool, what: &str) -> Result<(), String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(x) if check(x) => Ok(()),
        Some(x) => Err(format!("`{key}` is {} where {what} was expected", kind(x))),
    }
}

/// `key` holds a string.
pub fn string_at(v: &Value, key: &str) -> Result<(), String> {
    object(v)?;
    if v[key].is_string() {
        Ok(())
    } else {
        Err(format!("no `{key}` string (got {})", kind(&v[key])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_name_what_is_missing() {
        assert!(array_at(&json!({"results": []}), "results").is_ok());
        let e = array_at(&Value::Null, "results").unwrap_err();
        assert!(e.contains("an empty body"), "{e}");
        let e = array_at(&json!({"results": "x"}), "results").unwrap_err();
        assert!(e.contains("no `results` array (got a string)"), "{e}");
        assert!(optional(&json!({}), "paging", Value::is_object, "an object").is_ok());
        assert!(
            optional(
                &json!({"paging": 1}),
                "paging",
                Value::is_object,
                "an object"
            )
            .is_err()
        );
        assert!(string_at(&json!({"id": "1"}), "id").is_ok());
        assert!(array(&json!({})).is_err());
    }
}
