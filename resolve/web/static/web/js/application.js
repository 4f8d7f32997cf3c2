// Starts GOV.UK Frontend's components. Every page works without it; this only enhances.
import { initAll } from "../../govuk/govuk-frontend.min.js";

initAll();
