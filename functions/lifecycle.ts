// The connection lifecycle's orchestrations and activities (functions/workflows/lifecycle/): the
// worker loads only the files package.json `main` names, so each workflow registers from one here.
import './workflows/lifecycle/register';
