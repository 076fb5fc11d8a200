// The extension's exceptions the driver's client operations throw, by the .NET name the HTTP API
// reports (see api.ts for the status each maps to).

export class DurableArgumentError extends Error {
  override name = 'ArgumentException';
}
export class InstanceAlreadyExistsError extends Error {
  override name = 'OrchestrationAlreadyExistsException';
}
/** An operation the instance's state does not allow (purging one that has not ended). */
export class DurableInvalidOperationError extends Error {
  override name = 'InvalidOperationException';
}
