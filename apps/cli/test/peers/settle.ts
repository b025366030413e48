/**
 * Runs `body`, then every `stop` in order whatever happened, and returns the stops' results; the
 * first error (of the body, else of a stop) is thrown after all of them ran, so that no peer is left
 * running and the error that explains a failure is the one reported.
 * @param body the part of the run that may fail (waiting for forwarding, the traffic period)
 * @param stops the peers' stop functions, in stop order
 */
export async function runThenStop<R extends readonly unknown[]>(
  body: () => Promise<void>,
  stops: { readonly [K in keyof R]: () => Promise<R[K]> },
): Promise<R> {
  let failure: { readonly error: unknown } | undefined;
  try {
    await body();
  } catch (error) {
    failure = { error };
  }
  const results: unknown[] = [];
  for (const stop of stops) {
    try {
      results.push(await stop());
    } catch (error) {
      failure ??= { error };
      results.push(undefined);
    }
  }
  if (failure !== undefined) throw failure.error;
  return results as unknown as R;
}
