// /docs: Swagger UI over the OpenAPI document, configured by the page's JSON block (the policy
// of the page admits no inline script).
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("swagger-config").textContent);
  window.ui = window.SwaggerUIBundle({
    ...config,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
