//! The only place YAML is parsed: text -> JSON value plus an index from JSON pointers to
//! source positions, so that schema and semantic errors can point at line:column.
//!
//! Values come from `serde_yaml` (which also reports syntax errors with a position); positions
//! come from a second, event-level pass with saphyr's marked parser. That pass also rejects
//! what `serde_yaml` would silently accept: duplicate keys and `<<` merge keys.

use std::collections::HashMap;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

use crate::source::{pointer_push, Diagnostic, Pos, SourceFile};

/// Why the position pass stopped early.
enum Stop {
    Syntax(Diagnostic),
    /// Too deep to be worth a second parser's opinion (which would take long).
    TooDeep(Diagnostic),
}

/// Deeper nesting is refused at once: no runbook needs it, and parsers slow down on it.
const MAX_DEPTH: usize = 64;

/// Where a node sits in the source: its value, and its key when it is a mapping value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodePos {
    pub key: Option<(Pos, usize)>,
    pub value: (Pos, usize),
}

/// JSON pointer -> position of every node of a document.
#[derive(Debug, Default)]
pub struct PointerIndex {
    nodes: HashMap<String, NodePos>,
}

impl PointerIndex {
    pub fn get(&self, pointer: &str) -> Option<NodePos> {
        self.nodes.get(pointer).copied()
    }

    /// The position of the node at `pointer`, or of its nearest ancestor that exists
    /// (a missing field is reported at the mapping that should hold it).
    pub fn value_pos(&self, pointer: &str) -> (Pos, usize) {
        self.nearest(pointer).value
    }

    /// The position of the key of the node at `pointer` (its value for list items).
    pub fn key_pos(&self, pointer: &str) -> (Pos, usize) {
        let node = self.nearest(pointer);
        node.key.unwrap_or(node.value)
    }

    fn nearest(&self, pointer: &str) -> NodePos {
        let mut p = pointer;
        loop {
            if let Some(n) = self.nodes.get(p) {
                return *n;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => {
                    return NodePos {
                        key: None,
                        value: (Pos::new(1, 1), 1),
                    }
                }
            }
        }
    }
}

/// A parsed YAML document: its source, its value, and where each node is.
#[derive(Debug)]
pub struct Document {
    pub source: Arc<SourceFile>,
    pub value: Value,
    pub index: PointerIndex,
}

impl Document {
    /// An error at the value of the node at `pointer`.
    pub fn error_at(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        let (pos, width) = self.index.value_pos(pointer);
        Diagnostic::at(&self.source, pos, width, message).with_pointer(pointer)
    }

    /// An error at the key of the node at `pointer`.
    pub fn error_at_key(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        let (pos, width) = self.index.key_pos(pointer);
        Diagnostic::at(&self.source, pos, width, message).with_pointer(pointer)
    }
}

/// Parses one YAML document. Every problem found is returned, not just the first.
pub fn load(source: Arc<SourceFile>) -> Result<Document, Vec<Diagnostic>> {
    // The event pass runs first: serde_yaml would report a duplicate key as a bare syntax
    // error, without the first definition's position.
    let (index, mut diagnostics) = match index_positions(&source) {
        Ok((index, diagnostics)) => (index, diagnostics),
        Err(Stop::TooDeep(d)) => return Err(vec![d]),
        Err(Stop::Syntax(scan_error)) => {
            // Prefer serde_yaml's wording for syntax errors when it agrees there is one.
            return Err(
                match serde_yaml::from_str::<serde_yaml::Value>(&source.text) {
                    Err(e) => vec![syntax_error(&source, &e)],
                    Ok(_) => vec![scan_error],
                },
            );
        }
    };
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let yaml: serde_yaml::Value = match serde_yaml::from_str(&source.text) {
        Ok(v) => v,
        Err(e) => return Err(vec![syntax_error(&source, &e)]),
    };
    let value = to_json(&yaml, "", &source, &index, &mut diagnostics);
    match value {
        Some(value) if diagnostics.is_empty() => Ok(Document {
            source,
            value,
            index,
        }),
        _ => Err(diagnostics),
    }
}

fn syntax_error(source: &SourceFile, e: &serde_yaml::Error) -> Diagnostic {
    // serde_yaml appends " at line X column Y" to its message; the renderer shows the
    // position itself, so keep only the description.
    let text = e.to_string();
    let message = text
        .split(" at line ")
        .next()
        .unwrap_or(&text)
        .trim()
        .to_owned();
    match e.location() {
        Some(loc) => Diagnostic::at(
            source,
            Pos::new(loc.line(), loc.column()),
            1,
            format!("invalid YAML: {message}"),
        ),
        None => Diagnostic::in_file(&source.name, format!("invalid YAML: {message}")),
    }
}

fn pos_of(span: Span) -> (Pos, usize) {
    let start = span.start;
    let width = if span.end.line() == start.line() {
        span.end.index().saturating_sub(start.index())
    } else {
        1
    };
    (Pos::new(start.line(), start.col() + 1), width.max(1))
}

enum Frame {
    Map {
        pointer: String,
        pending_key: Option<(String, (Pos, usize))>,
        seen: HashMap<String, Pos>,
    },
    Seq {
        pointer: String,
        next: usize,
    },
}

/// Walks the event stream once, recording the position of every node under its pointer.
#[expect(clippy::too_many_lines, reason = "one match over the event kinds")]
fn index_positions(source: &SourceFile) -> Result<(PointerIndex, Vec<Diagnostic>), Stop> {
    let mut index = PointerIndex::default();
    let mut diagnostics = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut documents = 0usize;
    for event in Parser::new_from_str(&source.text) {
        let (event, span) = match event {
            Ok(e) => e,
            Err(e) => {
                let m = e.marker();
                return Err(Stop::Syntax(Diagnostic::at(
                    source,
                    Pos::new(m.line(), m.col() + 1),
                    1,
                    format!("invalid YAML: {}", e.info()),
                )));
            }
        };
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    let (pos, width) = pos_of(span);
                    diagnostics.push(
                        Diagnostic::at(
                            source,
                            pos,
                            width,
                            "more than one YAML document in the file",
                        )
                        .with_hint("keep one runbook or inventory per file"),
                    );
                }
            }
            Event::Scalar(text, style, _, _) => {
                let node = pos_of(span);
                // A plain scalar in key position is a key; anything else is a value.
                if let Some(Frame::Map { pending_key, .. }) = stack.last() {
                    if pending_key.is_none() {
                        let key = text.to_string();
                        if key == "<<" && style == ScalarStyle::Plain {
                            diagnostics.push(
                                Diagnostic::at(
                                    source,
                                    node.0,
                                    node.1,
                                    "YAML merge keys (`<<`) are not supported",
                                )
                                .with_hint("write the keys out, or move shared values to `vars`"),
                            );
                        }
                        start_key(&mut stack, key, node, source, &mut diagnostics);
                        continue;
                    }
                }
                let pointer = record_value(&mut stack, &mut index, node);
                if style == ScalarStyle::Plain && integer_out_of_range(&text) {
                    diagnostics.push(huge_integer(source, node, &pointer));
                }
            }
            Event::Alias(_) => {
                let node = pos_of(span);
                if let Some(Frame::Map {
                    pending_key: None, ..
                }) = stack.last()
                {
                    start_key(
                        &mut stack,
                        "*alias".to_owned(),
                        node,
                        source,
                        &mut diagnostics,
                    );
                    continue;
                }
                record_value(&mut stack, &mut index, node);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    let (pos, width) = pos_of(span);
                    return Err(Stop::TooDeep(
                        Diagnostic::at(source, pos, width, format!("nesting deeper than {MAX_DEPTH} levels"))
                            .with_hint("runbooks and inventories need only a few levels; check for unclosed brackets"),
                    ));
                }
                let node = pos_of(span);
                if let Some(Frame::Map {
                    pending_key: None, ..
                }) = stack.last()
                {
                    let (pos, width) = node;
                    diagnostics.push(Diagnostic::at(
                        source,
                        pos,
                        width,
                        "a mapping key must be a plain value",
                    ));
                    start_key(
                        &mut stack,
                        "?complex".to_owned(),
                        node,
                        source,
                        &mut diagnostics,
                    );
                }
                let pointer = record_value(&mut stack, &mut index, node);
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        pointer,
                        pending_key: None,
                        seen: HashMap::new(),
                    }
                } else {
                    Frame::Seq { pointer, next: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
    }
    Ok((index, diagnostics))
}

fn start_key(
    stack: &mut [Frame],
    key: String,
    node: (Pos, usize),
    source: &SourceFile,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if let Some(Frame::Map {
        pending_key, seen, ..
    }) = stack.last_mut()
    {
        if let Some(first) = seen.get(&key) {
            diagnostics.push(
                Diagnostic::at(source, node.0, node.1, format!("duplicate key `{key}`"))
                    .with_note(format!(
                        "first defined at line {}, column {}",
                        first.line, first.col
                    ))
                    .with_hint("remove one of them; YAML would silently keep only the last"),
            );
        } else {
            seen.insert(key.clone(), node.0);
        }
        *pending_key = Some((key, node));
    }
}

/// Records a value node at the position its parent frame gives it; returns its pointer.
fn record_value(stack: &mut [Frame], index: &mut PointerIndex, node: (Pos, usize)) -> String {
    let (pointer, key) = match stack.last_mut() {
        None => (String::new(), None),
        Some(Frame::Seq { pointer, next }) => {
            let p = pointer_push(pointer, &next.to_string());
            *next += 1;
            (p, None)
        }
        Some(Frame::Map {
            pointer,
            pending_key,
            ..
        }) => {
            let (key, key_pos) = pending_key.take().unwrap_or_default();
            (pointer_push(pointer, &key), Some(key_pos))
        }
    };
    index
        .nodes
        .insert(pointer.clone(), NodePos { key, value: node });
    pointer
}

/// Converts `serde_yaml`'s value to JSON, the model the schemas describe.
fn to_json(
    yaml: &serde_yaml::Value,
    pointer: &str,
    source: &SourceFile,
    index: &PointerIndex,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Value> {
    use serde_yaml::Value as Y;
    let error = |diagnostics: &mut Vec<Diagnostic>, message: String, hint: &str| {
        let (pos, width) = index.value_pos(pointer);
        diagnostics.push(
            Diagnostic::at(source, pos, width, message)
                .with_pointer(pointer)
                .with_hint(hint),
        );
    };
    Some(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Number(u.into())
            } else if let Some(f) = n.as_f64().and_then(Number::from_f64) {
                Value::Number(f)
            } else {
                error(
                    diagnostics,
                    format!("the number `{n}` cannot be used here"),
                    "use a finite number, or quote it to make it a string",
                );
                return None;
            }
        }
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(
                    to_json(
                        item,
                        &pointer_push(pointer, &i.to_string()),
                        source,
                        index,
                        diagnostics,
                    )
                    .unwrap_or(Value::Null),
                );
            }
            Value::Array(out)
        }
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s.clone(),
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_owned(),
                    _ => {
                        error(
                            diagnostics,
                            "a mapping key must be a plain value".to_owned(),
                            "use a string key",
                        );
                        continue;
                    }
                };
                let child = to_json(v, &pointer_push(pointer, &key), source, index, diagnostics)
                    .unwrap_or(Value::Null);
                out.insert(key, child);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            error(
                diagnostics,
                format!("YAML tags (`{}`) are not supported", tagged.tag),
                "remove the tag; quote the value if it should be a string",
            );
            return None;
        }
    })
}

/// A plain scalar that YAML reads as an integer too large for 64 bits (which the YAML
/// library would refuse with a message naming neither the field nor the range).
fn integer_out_of_range(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<i64>().is_err()
        && text.parse::<u64>().is_err()
}

fn huge_integer(source: &SourceFile, node: (Pos, usize), pointer: &str) -> Diagnostic {
    // The value is not repeated: it may be a secret in a params file.
    Diagnostic::at(
        source,
        node.0,
        node.1,
        format!(
            "number out of range: whole numbers must be between {} and {}",
            i64::MIN,
            u64::MAX
        ),
    )
    .with_pointer(pointer)
    .with_hint("write a smaller number, or quote it to make it a string")
}

/// Reads a parameter given as text on the command line (`-p count=3`) the way YAML reads a
/// scalar or flow value, for parameters whose schema wants a number, boolean, list or map.
pub fn parse_value_text(text: &str) -> Option<Value> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    let source = SourceFile::new("-p", text);
    let mut diagnostics = Vec::new();
    to_json(
        &yaml,
        "",
        &source,
        &PointerIndex::default(),
        &mut diagnostics,
    )
    .filter(|_| diagnostics.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Result<Document, Vec<Diagnostic>> {
        load(SourceFile::new("t.yaml", text))
    }

    #[test]
    fn indexes_keys_and_values_by_pointer() {
        let d = doc("a: 1\nsteps:\n  - id: x\n    needs: [y, z]\n").unwrap();
        assert_eq!(d.index.get("/a").unwrap().key, Some((Pos::new(1, 1), 1)));
        assert_eq!(
            d.index.get("/steps/0/id").unwrap().value,
            (Pos::new(3, 9), 1)
        );
        assert_eq!(
            d.index.get("/steps/0/needs/1").unwrap().value,
            (Pos::new(4, 16), 1)
        );
        assert_eq!(d.value["steps"][0]["needs"][1], "z");
    }

    #[test]
    fn keeps_declaration_order() {
        let d = doc("z: 1\na: 2\nm: 3\n").unwrap();
        let keys: Vec<_> = d.value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn rejects_duplicate_and_merge_keys() {
        let errs = doc("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(errs[0].message, "duplicate key `a`");
        assert_eq!(errs[0].pos, Some(Pos::new(3, 1)));
        let errs = doc("base: &b {x: 1}\nother:\n  <<: *b\n").unwrap_err();
        assert!(
            errs.iter().any(|e| e.message.contains("merge keys")),
            "{errs:?}"
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let errs = doc("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].message.starts_with("invalid YAML:"),
            "{}",
            errs[0].message
        );
        assert!(errs[0].pos.is_some());
    }
}
