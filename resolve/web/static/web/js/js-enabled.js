// Loaded as a classic script at the start of <body>, before anything paints: GOV.UK Frontend's
// styles for JavaScript-enhanced components key off these classes. Kept out of the page so a strict
// Content Security Policy needs no inline script.
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
