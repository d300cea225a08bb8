/**
 * How long one pull request of a long-lived consumer (consume()) stays open. On a cluster a
 * pull lives on the consumer's leader only: when that server dies the request dies with it,
 * and the client notices only after two missed idle heartbeats (half of `expires` each) or
 * when the request expires. With the client's default of 30 s the controller read no job
 * event for 30-40 s after a stream leader was SIGKILLed, holding every finished job's slot
 * and so the whole queue. 5 s bounds that gap at ~5 s for one pull request every 5 s.
 */
export const CONSUME_EXPIRES_MS = 5_000;
