// Key rotation's orchestration, activity and daily timer (functions/workflows/keyRotation/): the
// worker loads only the files package.json `main` names, so each workflow registers from one here.
import './workflows/keyRotation/register';
