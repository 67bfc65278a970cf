// The credential validators that applications give to
// `Client.setCredentialValidator`, kept here by number: the WebAssembly
// side holds only the number, as its state holds no JavaScript values.
const validators = new Map();
let next = 0;

export function registerValidator(validate, validateSuccessor) {
  const id = next++;
  validators.set(id, { validate, validateSuccessor });
  return id;
}

export function unregisterValidator(id) {
  validators.delete(id);
}

// The application's answer; anything but `true`, a thrown error included,
// rejects the credential.
function ask(fn, a, b) {
  try {
    return fn(a, b) === true;
  } catch {
    return false;
  }
}

export function callValidator(id, credential, signatureKey) {
  const v = validators.get(id);
  return v !== undefined && ask(v.validate, credential, signatureKey);
}

export function callSuccessorValidator(id, oldCredential, newCredential) {
  const v = validators.get(id);
  return v !== undefined && ask(v.validateSuccessor, oldCredential, newCredential);
}
