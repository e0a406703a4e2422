// The app around Hanko's elements, as an integrator writes it: <hanko-auth>
// while signed out, <hanko-profile> and a logout button while signed in.
// The elements come from @teamhanko/hanko-elements; the app's own calls
// (current user, logout, events) use @teamhanko/hanko-frontend-sdk.
import { register } from '/vendor/hanko-elements/elements.js';
import { Hanko } from '/vendor/hanko-frontend-sdk/sdk.modern.js';

const api = new URLSearchParams(location.search).get('api');
const $ = (id) => document.getElementById(id);
const status = (s) => { $('status').textContent = s; document.body.dataset.state = s; };

await register(api);
const hanko = new Hanko(api);

function showAuth() {
  $('profile').hidden = true;
  $('profile').querySelector('hanko-profile')?.remove();
  $('auth').replaceChildren(document.createElement('hanko-auth'));
  $('auth').hidden = false;
  status('signed-out');
}

async function showProfile() {
  const user = await hanko.user.getCurrent();
  $('auth').hidden = true;
  $('auth').replaceChildren();
  $('whoami').textContent = `signed in as ${user.email} (${user.id})`;
  $('profile').prepend(document.createElement('hanko-profile'));
  $('profile').hidden = false;
  status('signed-in');
}

hanko.onAuthFlowCompleted(() => {
  showProfile().catch((err) => { console.error('after sign-in:', err); status('error'); });
});

$('logout').addEventListener('click', async () => {
  try {
    await hanko.user.logout();
    showAuth();
  } catch (err) {
    console.error('logout:', err);
    status('error');
  }
});

showAuth();
