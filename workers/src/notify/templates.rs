//! The words of each channel, from minijinja templates per (alert rule, part), with a default
//! for any rule: the files under `notify/templates/default/`, compiled into the binary.
//!
//! | Part ([`Part`])       | File                | Escaping                               |
//! |-----------------------|---------------------|----------------------------------------|
//! | e-mail subject        | `email_subject.txt` | none; whitespace collapsed to one line |
//! | e-mail HTML body      | `email.html`        | HTML (every value auto-escaped)        |
//! | e-mail plain body     | `email.txt`         | none                                   |
//! | SMS                   | `sms.txt`           | none; one segment ([`fit_sms`])        |
//! | push (and in-app) title | `push_title.txt`  | none; one line                         |
//! | push (and in-app) body  | `push_body.txt`   | none                                   |
//!
//! A rule's own template is named `<rule>/<file>` ([`Templates::with_template`]); a part the
//! rule has none of comes from `default/`. Escaping follows the name's extension (`.html`).
//! Undefined variables are errors (minijinja's strict mode), never empty strings.
//!
//! Every template sees `alert_id`, `rule`, `severity`, `household`, `household_name`, `title`,
//! `values` (the rule's figures, a map) and `created_at` (RFC 3339, UTC). The webhook's body is
//! no template: it is the message as JSON ([`webhook::payload`]).

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::{webhook, Channel, Content, Message, Rendered};

/// One part of what a channel sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    EmailSubject,
    EmailHtml,
    EmailText,
    Sms,
    PushTitle,
    PushBody,
}

impl Part {
    pub const ALL: [Part; 6] =
        [Self::EmailSubject, Self::EmailHtml, Self::EmailText, Self::Sms, Self::PushTitle, Self::PushBody];

    /// The file name of the part's template (its extension chooses the escaping).
    pub fn file(self) -> &'static str {
        match self {
            Self::EmailSubject => "email_subject.txt",
            Self::EmailHtml => "email.html",
            Self::EmailText => "email.txt",
            Self::Sms => "sms.txt",
            Self::PushTitle => "push_title.txt",
            Self::PushBody => "push_body.txt",
        }
    }

    fn default_source(self) -> &'static str {
        match self {
            Self::EmailSubject => include_str!("templates/default/email_subject.txt"),
            Self::EmailHtml => include_str!("templates/default/email.html"),
            Self::EmailText => include_str!("templates/default/email.txt"),
            Self::Sms => include_str!("templates/default/sms.txt"),
            Self::PushTitle => include_str!("templates/default/push_title.txt"),
            Self::PushBody => include_str!("templates/default/push_body.txt"),
        }
    }
}

/// A template that does not compile or render (a syntax error, an undefined variable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {template}: {message}")]
pub struct TemplateError {
    pub template: String,
    pub message: String,
}

/// The compiled templates: the defaults and the rules' own.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// What every template sees.
#[derive(Serialize)]
struct Context<'m> {
    alert_id: &'m str,
    rule: &'m str,
    severity: &'m str,
    household: &'m str,
    household_name: &'m str,
    title: &'m str,
    values: &'m BTreeMap<String, serde_json::Value>,
    created_at: String,
}

impl Templates {
    /// The default templates.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for part in Part::ALL {
            // The default templates are tested to compile (`the_defaults_compile_and_render`).
            env.add_template_owned(default_name(part), part.default_source())
                .unwrap_or_else(|e| panic!("the default template {} does not compile: {e}", part.file()));
        }
        Self { env }
    }

    /// These templates with `rule`'s own `part`, compiled now.
    pub fn with_template(mut self, rule: &str, part: Part, source: &str) -> Result<Self, TemplateError> {
        let name = format!("{rule}/{}", part.file());
        self.env
            .add_template_owned(name.clone(), source.to_owned())
            .map_err(|e| TemplateError { template: name, message: e.to_string() })?;
        Ok(self)
    }

    /// `part` for `message`, from its rule's template or the default one.
    pub fn render_part(&self, message: &Message, part: Part) -> Result<String, TemplateError> {
        let own = format!("{}/{}", message.rule, part.file());
        let template = match self.env.get_template(&own) {
            Ok(t) => t,
            Err(_) => self
                .env
                .get_template(&default_name(part))
                .map_err(|e| TemplateError { template: default_name(part), message: e.to_string() })?,
        };
        let context = Context {
            alert_id: &message.alert_id,
            rule: &message.rule,
            severity: message.severity.as_str(),
            household: &message.household,
            household_name: &message.household_name,
            title: &message.title,
            values: &message.values,
            created_at: message.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        template
            .render(minijinja::Value::from(minijinja::value::Serde(&context)))
            .map_err(|e| TemplateError { template: template.name().to_owned(), message: render_error(&e) })
    }

    /// `message` rendered for `channel`.
    pub fn render(&self, message: &Message, channel: Channel) -> Result<Rendered, TemplateError> {
        let content = match channel {
            Channel::Email => Content::Email {
                subject: one_line(&self.render_part(message, Part::EmailSubject)?),
                html: self.render_part(message, Part::EmailHtml)?,
                text: self.render_part(message, Part::EmailText)?,
            },
            Channel::Sms => Content::Sms { body: fit_sms(&one_line(&self.render_part(message, Part::Sms)?)) },
            Channel::Push => Content::Push {
                title: one_line(&self.render_part(message, Part::PushTitle)?),
                body: self.render_part(message, Part::PushBody)?,
                data: push_data(message),
            },
            Channel::Webhook => Content::Webhook { body: webhook::payload(message) },
            Channel::InApp => Content::InApp {
                title: one_line(&self.render_part(message, Part::PushTitle)?),
                body: self.render_part(message, Part::PushBody)?,
            },
        };
        Ok(Rendered { alert_id: message.alert_id.clone(), content })
    }
}

fn default_name(part: Part) -> String {
    format!("default/{}", part.file())
}

/// minijinja's message with its causes (the undefined variable's name is in the detail).
fn render_error(e: &minijinja::Error) -> String {
    let mut text = e.to_string();
    if let Some(detail) = e.detail() {
        if !text.contains(detail) {
            text = format!("{text}: {detail}");
        }
    }
    text
}

/// `text` on one line: every run of whitespace one space, none at either end.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// FCM's `data` for `message`: strings only (FCM refuses other values), the alert's identity
/// and each of its values under `value.<name>` (strings as they are, anything else as JSON).
pub fn push_data(message: &Message) -> BTreeMap<String, String> {
    let mut data = BTreeMap::from([
        ("alert_id".to_owned(), message.alert_id.clone()),
        ("rule".to_owned(), message.rule.clone()),
        ("severity".to_owned(), message.severity.as_str().to_owned()),
        ("household".to_owned(), message.household.clone()),
        ("created_at".to_owned(), message.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    ]);
    for (name, value) in &message.values {
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        data.insert(format!("value.{name}"), value);
    }
    data
}

/// How an SMS is encoded: GSM 03.38's 7-bit alphabet when every character is in it, UCS-2
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    Gsm7,
    Ucs2,
}

impl SmsEncoding {
    /// The most units one segment holds: 160 septets, or 70 UTF-16 units.
    pub fn segment(self) -> usize {
        match self {
            Self::Gsm7 => 160,
            Self::Ucs2 => 70,
        }
    }
}

/// The GSM 03.38 basic character set, each one septet.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table, each two septets (escape + character).
const GSM7_EXTENSION: &str = "\x0C^{}\\[~]|€";

/// The septets `c` takes in GSM-7, or `None` outside the alphabet.
fn gsm7_septets(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The encoding `text` needs and its length in that encoding's units (septets or UTF-16 units).
pub fn sms_length(text: &str) -> (SmsEncoding, usize) {
    match text.chars().map(gsm7_septets).sum::<Option<usize>>() {
        Some(septets) => (SmsEncoding::Gsm7, septets),
        None => (SmsEncoding::Ucs2, text.encode_utf16().count()),
    }
}

/// `text` cut to one SMS segment: at most 160 GSM-7 septets (an extension character such as
/// `€` or `{` counts two) or, when a character is outside GSM-7 (and the message goes as UCS-2),
/// 70 UTF-16 units. A cut ends on a character boundary with an ellipsis: `...` in GSM-7 (which
/// has no `…`), `…` in UCS-2.
pub fn fit_sms(text: &str) -> String {
    let (encoding, length) = sms_length(text);
    let limit = encoding.segment();
    if length <= limit {
        return text.to_owned();
    }
    let (ellipsis, cost): (&str, fn(char) -> usize) = match encoding {
        SmsEncoding::Gsm7 => ("...", |c| gsm7_septets(c).unwrap_or(2)),
        SmsEncoding::Ucs2 => ("…", char::len_utf16),
    };
    let budget = limit - ellipsis.chars().map(cost).sum::<usize>();
    let mut used = 0;
    let mut cut = String::new();
    for c in text.chars() {
        used += cost(c);
        if used > budget {
            break;
        }
        cut.push(c);
    }
    let mut cut = cut.trim_end().to_owned();
    cut.push_str(ellipsis);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::testing::message;

    fn email(templates: &Templates, m: &Message) -> (String, String, String) {
        match templates.render(m, Channel::Email).unwrap().content {
            Content::Email { subject, html, text } => (subject, html, text),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_defaults_compile_and_render_for_every_channel() {
        let templates = Templates::new();
        let m = message("The Smiths");
        for channel in Channel::ALL {
            let rendered = templates.render(&m, channel).unwrap();
            assert_eq!(rendered.channel(), channel);
            assert_eq!(rendered.alert_id, m.alert_id);
        }
        let (subject, html, text) = email(&templates, &m);
        assert_eq!(subject, "[WARNING] The Smiths: Allocation drifted past its band");
        assert!(html.contains("<tr><th>drift</th><td>7.5%</td></tr>"), "{html}");
        assert!(html.contains("<tr><th>accounts</th><td>3</td></tr>"), "{html}");
        assert!(text.contains("\ndrift: 7.5%\n"), "{text}");
        assert!(text.contains("Raised 2026-03-02T14:30:00Z\nby the rule drift\n"), "{text}");
        assert!(text.contains("Household: The Smiths\nSeverity: warning"), "{text}");
    }

    #[test]
    fn html_escapes_every_value_and_plain_text_does_not() {
        let m = message("<script>alert('x')</script>");
        let (subject, html, text) = email(&Templates::new(), &m);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("<strong>&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt;</strong>"), "{html}");
        assert!(html.contains("<td>Retirement &amp; &lt;Growth&gt;</td>"), "{html}");
        // The markup of the template itself is not escaped.
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"), "{html}");
        assert!(text.contains("Household: <script>alert('x')</script>"), "{text}");
        assert!(subject.contains("<script>"), "a subject is text: {subject}");
    }

    #[test]
    fn a_rules_own_template_wins_and_a_missing_variable_is_an_error() {
        let templates = Templates::new()
            .with_template(
                "drift",
                Part::Sms,
                "{{ household_name }} drifted {{ values.drift }} (max {{ values.threshold }})",
            )
            .unwrap();
        let sms = templates.render(&message("Smith"), Channel::Sms).unwrap();
        assert_eq!(sms.content, Content::Sms { body: "Smith drifted 7.5% (max 5%)".into() });
        // Another rule falls back to the default.
        let other = Message { rule: "large_withdrawal".into(), ..message("Smith") };
        let Content::Sms { body } = templates.render(&other, Channel::Sms).unwrap().content else { panic!() };
        assert!(body.starts_with("cairn WARNING: Smith: Allocation drifted"), "{body}");

        let strict =
            Templates::new().with_template("drift", Part::PushTitle, "{{ values.tolerance }} {{ nope }}").unwrap();
        let err = strict.render(&message("Smith"), Channel::Push).unwrap_err();
        assert_eq!(err.template, "drift/push_title.txt");
        assert!(err.message.contains("undefined"), "{err}");
        let err = Templates::new().with_template("drift", Part::Sms, "{{ unclosed ").unwrap_err();
        assert_eq!(err.template, "drift/sms.txt");
    }

    #[test]
    fn push_has_a_title_a_body_and_string_data() {
        let Content::Push { title, body, data } =
            Templates::new().render(&message("Smith"), Channel::Push).unwrap().content
        else {
            panic!()
        };
        assert_eq!(title, "Smith: Allocation drifted past its band");
        assert_eq!(body, "Warning: accounts 3, drift 7.5%, portfolio Retirement & <Growth>, threshold 5%");
        assert_eq!(data["alert_id"], "0190f3a2-7c41-7d1e-9a55-1b2c3d4e5f60");
        assert_eq!(data["severity"], "warning");
        assert_eq!(data["value.accounts"], "3");
        assert_eq!(data["value.drift"], "7.5%");
        assert_eq!(data["created_at"], "2026-03-02T14:30:00Z");
    }

    #[test]
    fn a_long_sms_is_cut_to_160_gsm7_characters_with_an_ellipsis() {
        let mut m = message("The Smith-Johnson Family Trust");
        m.title = "Allocation drifted past its band in every account of the household; review it".into();
        let Content::Sms { body } = Templates::new().render(&m, Channel::Sms).unwrap().content else { panic!() };
        let (encoding, length) = sms_length(&body);
        assert_eq!(encoding, SmsEncoding::Gsm7);
        assert!((158..=160).contains(&length), "{length}: {body}");
        assert!(body.ends_with("..."), "{body}");
        assert!(body.starts_with("cairn WARNING: The Smith-Johnson Family Trust: Allocation drifted"), "{body}");
        assert!(!body.contains('\n'));

        let short = "Drift 7.5% on Smith";
        assert_eq!(fit_sms(short), short);
        let exact = "x".repeat(160);
        assert_eq!(fit_sms(&exact), exact);
        // `€` takes two septets: 80 of them fill a segment, one more is cut to 78 and "...".
        assert_eq!(fit_sms(&"€".repeat(80)), "€".repeat(80));
        let cut = fit_sms(&"€".repeat(81));
        assert_eq!(cut, format!("{}...", "€".repeat(78)));
        assert_eq!(sms_length(&cut), (SmsEncoding::Gsm7, 159));
    }

    #[test]
    fn an_sms_outside_gsm7_is_one_ucs2_segment() {
        // `é` is GSM-7, `ł` and the emoji are not; the emoji is two UTF-16 units.
        assert_eq!(sms_length("café"), (SmsEncoding::Gsm7, 4));
        assert_eq!(sms_length("Łódź 📉"), (SmsEncoding::Ucs2, 7));
        let text = format!("Łódź {}", "📉".repeat(40));
        let cut = fit_sms(&text);
        let (encoding, units) = sms_length(&cut);
        assert_eq!(encoding, SmsEncoding::Ucs2);
        assert!(units <= 70, "{units}");
        assert!(cut.ends_with('…'));
        // Never half an emoji.
        assert_eq!(cut, format!("Łódź {}…", "📉".repeat(32)));
    }
}
