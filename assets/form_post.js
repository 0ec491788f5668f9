// Posts the authorization response to the application at once (the page's
// button does the same where scripts do not run).
document.getElementById("form-post").submit();
