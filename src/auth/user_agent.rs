//! A short name for the browser and system of a user agent string, as the
//! session list and remembered devices show it.

/// A short name for the browser and system a user agent string describes.
pub fn short_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.is_empty()) else {
        return "Unknown device".into();
    };
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/", "curl/", "reqwest"]
        .iter()
        .find(|b| ua.contains(*b))
        .map(|b| match *b {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            "Safari/" => "Safari",
            "curl/" => "curl",
            _ => "An HTTP client",
        });
    let system = ["Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux"]
        .iter()
        .find(|s| ua.contains(*s));
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {}", s.replace("Mac OS", "macOS")),
        (Some(b), None) => b.to_string(),
        _ => ua.chars().take(60).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_get_short_names() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(short_name(Some(chrome)), "Chrome on Linux");
        assert_eq!(short_name(None), "Unknown device");
    }
}
