// A module script (type="module"), so the import below is resolved against this file's URL.
// Starts GOV.UK Frontend's components. Every page works without it; this only enhances.
import { initAll } from "../../govuk/govuk-frontend.min.js";

initAll();
