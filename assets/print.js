// The print button of the backup-codes page (inline scripts are not allowed by the CSP).
document.getElementById("print-codes")?.addEventListener("click", () => window.print());
