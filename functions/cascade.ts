// The provider cascade's orchestration and activities (functions/workflows/cascade/): the worker
// loads only the files package.json `main` names, so each workflow registers from one here.
import './workflows/cascade/register';
