//! JSON pointers (RFC 6901) as used by the schema validator, and their display form.

/// Appends one reference token to a pointer, escaping `~` and `/`.
pub fn pointer_push(pointer: &str, token: &str) -> String {
    let escaped = token.replace('~', "~0").replace('/', "~1");
    format!("{pointer}/{escaped}")
}

/// Shows a pointer the way operators read fields: `/steps/3/needs/0` becomes
/// `steps[3].needs[0]`; the document itself is `(document)`.
pub fn display_pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        return "(document)".to_owned();
    }
    let mut out = String::new();
    for token in pointer.trim_start_matches('/').split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&token);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_form_uses_brackets_for_indexes() {
        assert_eq!(display_pointer("/steps/3/needs/0"), "steps[3].needs[0]");
        assert_eq!(display_pointer("/hosts/a~1b/vars"), "hosts.a/b.vars");
        assert_eq!(display_pointer(""), "(document)");
        assert_eq!(pointer_push("/hosts", "a/b"), "/hosts/a~1b");
    }
}
