/**
 * What every thin client's `UnexpectedResponseError` carries (STYLE.md rule 7): the request's method and
 * url (never a token: tokens travel in headers) and the answer's status and body. Each client extends it
 * with its own class and wording, so `instanceof` still tells a Consul error from a Nomad one.
 */
export abstract class UnexpectedResponseErrorBase extends Error {
  override readonly name = 'UnexpectedResponseError';
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly body: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
